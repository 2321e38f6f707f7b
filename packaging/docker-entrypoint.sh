#!/bin/bash
# The zk-bin image's entrypoint, following the official `zookeeper`
# image's conventions so that its compose files and Kubernetes manifests
# work unchanged: zoo.cfg in $ZOO_CONF_DIR (/conf) is written from ZOO_*
# variables only when missing (a mounted zoo.cfg wins), myid in
# $ZOO_DATA_DIR (/data) only when missing, transaction logs in
# $ZOO_DATA_LOG_DIR (/datalog).
#
# Every directory is a variable with the image's default, which is also how
# integration/tests/container_image.rs runs this script outside a container.

set -e

: "${ZOO_CONF_DIR:=/conf}"
: "${ZOO_DATA_DIR:=/data}"
: "${ZOO_DATA_LOG_DIR:=/datalog}"
: "${ZOO_TICK_TIME:=2000}"
: "${ZOO_INIT_LIMIT:=5}"
: "${ZOO_SYNC_LIMIT:=2}"
: "${ZOO_AUTOPURGE_PURGEINTERVAL:=0}"
: "${ZOO_AUTOPURGE_SNAPRETAINCOUNT:=3}"
: "${ZOO_MAX_CLIENT_CNXNS:=60}"
: "${ZOO_STANDALONE_ENABLED:=true}"
: "${ZOO_ADMINSERVER_ENABLED:=true}"
: "${ZOO_USER:=zookeeper}"

# Started as root (the default) to run the server: hand the directories to
# the server's user and run as it, so a volume created by root still works.
if [[ "$1" = 'zk-bin' && "$(id -u)" = '0' && -z "$ZOO_STAY_ROOT" ]]; then
    chown -R "$ZOO_USER:$ZOO_USER" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" ${ZOO_LOG_DIR:+"$ZOO_LOG_DIR"}
    exec setpriv --reuid="$ZOO_USER" --regid="$ZOO_USER" --init-groups "$0" "$@"
fi

mkdir -p "$ZOO_CONF_DIR" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR"

config="$ZOO_CONF_DIR/zoo.cfg"
if [[ ! -f "$config" ]]; then
    {
        echo "dataDir=$ZOO_DATA_DIR"
        echo "dataLogDir=$ZOO_DATA_LOG_DIR"
        echo "tickTime=$ZOO_TICK_TIME"
        echo "initLimit=$ZOO_INIT_LIMIT"
        echo "syncLimit=$ZOO_SYNC_LIMIT"
        echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
        echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
        echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
        echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
        echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
        # One server of its own when none is given: standalone, as the
        # official image does.
        # Entries are separated by blanks (spaces or newlines), as there.
        for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do
            echo "$server"
        done
        if [[ -n "$ZOO_4LW_COMMANDS_WHITELIST" ]]; then
            echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
        fi
        for extra in $ZOO_CFG_EXTRA; do
            echo "$extra"
        done
    } > "$config.tmp"
    # Whole or not at all: a container killed mid-write must not leave a
    # truncated zoo.cfg that the next start would keep.
    mv "$config.tmp" "$config"
fi

if [[ ! -f "$ZOO_DATA_DIR/myid" ]]; then
    echo "${ZOO_MY_ID:-1}" > "$ZOO_DATA_DIR/myid"
fi

# `zk-bin start-foreground` alone (the image's CMD) runs the config above.
if [[ "$1" = 'zk-bin' && "$2" = 'start-foreground' && $# -eq 2 ]]; then
    set -- "$@" "$config"
fi

exec "$@"
