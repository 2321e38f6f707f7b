"""pure-sasl's DIGEST-MD5 client driven as kazoo drives it (kazoo's
connection.py, _authenticate_with_sasl), talking to zk-config's server over
stdin/stdout for crates/zk-config/tests/digest_md5_interop.rs.

Frames both ways: one kind byte, a 4-byte big-endian length, the bytes;
'T' a token, 'C' the exchange completed here, 'E' an error message.

    python pure_sasl_peer.py USER PASSWORD
"""
import struct
import sys

import puresasl.client

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer


def send(kind, data):
    stdout.write(kind + struct.pack(">i", len(data)) + data)
    stdout.flush()


def receive():
    head = stdin.read(5)
    if len(head) < 5:
        return None
    data = stdin.read(struct.unpack(">i", head[1:])[0])
    return None if head[:1] == b"E" else data


def main():
    user, password = sys.argv[1], sys.argv[2]
    # kazoo: service "zookeeper", and the host hard-wired to zk-sasl-md5
    # for DIGEST-MD5, as ZooKeeper's SecurityUtils wires the server name.
    cli = puresasl.client.SASLClient(
        host="zk-sasl-md5",
        service="zookeeper",
        mechanism="DIGEST-MD5",
        username=user,
        password=password,
    )
    challenge = None
    while True:
        if cli.complete:
            send(b"C", b"")
            return
        try:
            response = cli.process(challenge=challenge)
        except Exception as e:  # kazoo: AuthFailedError
            send(b"E", repr(e).encode())
            return
        if cli.complete and not response:
            send(b"C", b"")
            return
        if response is None:
            response = b""
        send(b"T", response)
        challenge = receive()
        if challenge is None:
            return


main()
