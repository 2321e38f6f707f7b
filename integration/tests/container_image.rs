//! packaging/: the container image's entrypoint and the image itself.
//!
//! - docker-entrypoint.sh run here, with scratch directories standing in
//!   for /conf, /data and /datalog (its ZOO_*_DIR variables): the zoo.cfg
//!   and myid it writes from the official image's variables, exactly; a
//!   second run keeps both (written only when missing); the image's CMD
//!   gets the config appended; and zk-bin serves from a config it wrote;
//! - where docker or podman can run containers: the image built from
//!   packaging/Dockerfile runs a 3-node ensemble from ZOO_SERVERS (one
//!   leader, two followers, as `zk-bin status` in each container says);
//!   otherwise it prints `skipped: no container runtime`;
//! - packaging/zk-bin.service passes `systemd-analyze verify` with its
//!   ExecStart pointed at the built zk-bin (skipped without systemd-analyze).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration::apache::{four_letter, run_bounded};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::zk_bin;

const BOUND: Duration = Duration::from_secs(60);

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging")
}

/// Runs the entrypoint with `dirs` as its directories, `env` and `args`;
/// returns its stdout, failing the test on a non-zero exit.
fn entrypoint(dirs: &TempDir, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = Command::new("bash");
    cmd.arg(packaging().join("docker-entrypoint.sh"))
        .args(args)
        .env("ZOO_CONF_DIR", dirs.join("conf"))
        .env("ZOO_DATA_DIR", dirs.join("data"))
        .env("ZOO_DATA_LOG_DIR", dirs.join("datalog"))
        .env("ZOO_STAY_ROOT", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (status, out, err) = run_bounded(cmd, BOUND).expect("entrypoint ran");
    assert!(
        status.success(),
        "entrypoint {args:?} exited {status}: {}",
        String::from_utf8_lossy(&err)
    );
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn entrypoint_writes_zoo_cfg_and_myid_once() {
    let dirs = TempDir::new("zk-entrypoint").unwrap();
    let servers =
        "server.1=zk1:2888:3888;2181\nserver.2=zk2:2888:3888;2181 server.3=zk3:2888:3888;2181";
    let env = [
        ("ZOO_MY_ID", "2"),
        ("ZOO_SERVERS", servers),
        ("ZOO_TICK_TIME", "1000"),
        ("ZOO_INIT_LIMIT", "10"),
        ("ZOO_SYNC_LIMIT", "5"),
        ("ZOO_AUTOPURGE_PURGEINTERVAL", "1"),
        ("ZOO_AUTOPURGE_SNAPRETAINCOUNT", "4"),
        ("ZOO_STANDALONE_ENABLED", "false"),
        ("ZOO_ADMINSERVER_ENABLED", "false"),
        ("ZOO_4LW_COMMANDS_WHITELIST", "srvr,ruok,mntr"),
        (
            "ZOO_CFG_EXTRA",
            "quorumListenOnAllIPs=true metricsProvider.exportJvmInfo=false",
        ),
    ];
    entrypoint(&dirs, &env, &["true"]);
    let cfg = std::fs::read_to_string(dirs.join("conf/zoo.cfg")).unwrap();
    let expected = format!(
        "dataDir={data}\ndataLogDir={datalog}\ntickTime=1000\ninitLimit=10\nsyncLimit=5\n\
         autopurge.snapRetainCount=4\nautopurge.purgeInterval=1\nmaxClientCnxns=60\n\
         standaloneEnabled=false\nadmin.enableServer=false\n\
         server.1=zk1:2888:3888;2181\nserver.2=zk2:2888:3888;2181\nserver.3=zk3:2888:3888;2181\n\
         4lw.commands.whitelist=srvr,ruok,mntr\n\
         quorumListenOnAllIPs=true\nmetricsProvider.exportJvmInfo=false\n",
        data = dirs.join("data").display(),
        datalog = dirs.join("datalog").display()
    );
    assert_eq!(cfg, expected);
    assert_eq!(
        std::fs::read_to_string(dirs.join("data/myid")).unwrap(),
        "2\n"
    );
    assert!(dirs.join("datalog").is_dir());
    assert!(!dirs.join("conf/zoo.cfg.tmp").exists());

    // Both are written only when missing: a second start (a restarted
    // container, a mounted zoo.cfg) keeps them.
    entrypoint(
        &dirs,
        &[("ZOO_MY_ID", "7"), ("ZOO_TICK_TIME", "3000")],
        &["true"],
    );
    assert_eq!(
        std::fs::read_to_string(dirs.join("conf/zoo.cfg")).unwrap(),
        expected
    );
    assert_eq!(
        std::fs::read_to_string(dirs.join("data/myid")).unwrap(),
        "2\n"
    );

    // The image's CMD, `zk-bin start-foreground`, runs the written config;
    // a fake zk-bin on PATH shows the arguments it gets.
    let bin = dirs.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("zk-bin"), "#!/bin/sh\necho \"$@\"\n").unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(bin.join("zk-bin"))
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = entrypoint(&dirs, &[("PATH", &path)], &["zk-bin", "start-foreground"]);
    assert_eq!(
        out,
        format!("start-foreground {}\n", dirs.join("conf/zoo.cfg").display())
    );
}

/// Kills and reaps the server when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn zk_bin_serves_from_the_entrypoints_default_config() {
    let bin = match zk_bin() {
        Ok(bin) => bin,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let dirs = TempDir::new("zk-entrypoint-serve").unwrap();
    let (client, quorum, election) = (
        free_port().unwrap(),
        free_port().unwrap(),
        free_port().unwrap(),
    );
    // The official image's single-server form (its default is
    // server.1=localhost:2888:3888;2181): standalone, as standaloneEnabled.
    let servers = format!("server.1=127.0.0.1:{quorum}:{election};127.0.0.1:{client}");
    let env = [
        ("ZOO_SERVERS", servers.as_str()),
        ("ZOO_ADMINSERVER_ENABLED", "false"),
    ];
    entrypoint(&dirs, &env, &["true"]);
    let log = std::fs::File::create(dirs.join("server.log")).unwrap();
    let child = Command::new("bash")
        .arg(packaging().join("docker-entrypoint.sh"))
        .arg(&bin)
        .arg("start-foreground")
        .arg(dirs.join("conf/zoo.cfg"))
        .env("ZOO_CONF_DIR", dirs.join("conf"))
        .env("ZOO_DATA_DIR", dirs.join("data"))
        .env("ZOO_DATA_LOG_DIR", dirs.join("datalog"))
        .env("ZOO_STAY_ROOT", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut server = Reaped(child);
    let addr = format!("127.0.0.1:{client}").parse().unwrap();
    let deadline = Instant::now() + BOUND;
    let mode = loop {
        if let Ok(answer) = four_letter(addr, "srvr", Duration::from_secs(5)) {
            if let Some(mode) = answer.lines().find(|l| l.starts_with("Mode: ")) {
                break mode.to_string();
            }
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "zk-bin exited {status}: {}",
                std::fs::read_to_string(dirs.join("server.log")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "not serving on {addr} within {BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(mode, "Mode: standalone");
}

/// docker or podman, if one can run containers here.
fn container_runtime() -> Option<&'static str> {
    ["docker", "podman"].into_iter().find(|rt| {
        let mut cmd = Command::new(rt);
        cmd.arg("info");
        run_bounded(cmd, Duration::from_secs(30)).is_ok_and(|(status, _, _)| status.success())
    })
}

/// Removes the containers, network and image when dropped.
struct Cleanup {
    rt: &'static str,
    containers: Vec<String>,
    network: String,
    image: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new(self.rt).args(["rm", "-f", c]).output();
        }
        let _ = Command::new(self.rt)
            .args(["network", "rm", &self.network])
            .output();
        let _ = Command::new(self.rt)
            .args(["rmi", "-f", &self.image])
            .output();
    }
}

fn run_ok(rt: &str, args: &[&str], timeout: Duration) -> String {
    let mut cmd = Command::new(rt);
    cmd.args(args);
    let (status, out, err) =
        run_bounded(cmd, timeout).unwrap_or_else(|e| panic!("{rt} {args:?} did not finish: {e}"));
    assert!(
        status.success(),
        "{rt} {args:?} exited {status}: {}",
        String::from_utf8_lossy(&err)
    );
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn image_runs_a_three_node_ensemble_from_zoo_servers() {
    let Some(rt) = container_runtime() else {
        println!("skipped: no container runtime (docker or podman info failed)");
        return;
    };
    let bin = match zk_bin() {
        Ok(bin) => bin,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let ctx = TempDir::new("zk-image").unwrap();
    for file in ["Dockerfile", "docker-entrypoint.sh"] {
        std::fs::copy(packaging().join(file), ctx.join(file)).unwrap();
    }
    std::fs::copy(&bin, ctx.join("zk-bin")).unwrap();
    let tag = format!("zk-bin-test-{}", std::process::id());
    let mut cleanup = Cleanup {
        rt,
        containers: Vec::new(),
        network: tag.clone(),
        image: format!("{tag}:latest"),
    };
    run_ok(
        rt,
        &[
            "build",
            "-t",
            &cleanup.image,
            &ctx.path().display().to_string(),
        ],
        Duration::from_secs(600),
    );
    run_ok(rt, &["network", "create", &cleanup.network], BOUND);
    let servers: Vec<String> = (1..=3)
        .map(|i| format!("server.{i}={tag}-zk{i}:2888:3888;2181"))
        .collect();
    let servers = servers.join(" ");
    for i in 1..=3 {
        let name = format!("{tag}-zk{i}");
        cleanup.containers.push(name.clone());
        run_ok(
            rt,
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--hostname",
                &name,
                "--network",
                &cleanup.network,
                "-e",
                &format!("ZOO_MY_ID={i}"),
                "-e",
                &format!("ZOO_SERVERS={servers}"),
                "-e",
                "ZOO_ADMINSERVER_ENABLED=false",
                &cleanup.image,
            ],
            BOUND,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let modes = loop {
        let modes: Vec<String> = cleanup
            .containers
            .iter()
            .map(|c| {
                let mut cmd = Command::new(rt);
                cmd.args(["exec", c, "zk-bin", "status", "/conf/zoo.cfg"]);
                run_bounded(cmd, BOUND)
                    .map(|(_, out, _)| {
                        String::from_utf8_lossy(&out)
                            .lines()
                            .last()
                            .unwrap_or("")
                            .to_string()
                    })
                    .unwrap_or_default()
            })
            .collect();
        let mut sorted = modes.clone();
        sorted.sort();
        if sorted == ["Mode: follower", "Mode: follower", "Mode: leader"] {
            break modes;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = cleanup
                .containers
                .iter()
                .map(|c| run_ok(rt, &["logs", "--tail", "30", c], BOUND))
                .collect();
            panic!(
                "no leader and two followers within 120 s: {modes:?}\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    println!("ensemble in containers: {modes:?}");
}

#[test]
fn systemd_unit_verifies() {
    let bin = match zk_bin() {
        Ok(bin) => bin,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let mut probe = Command::new("systemd-analyze");
    probe.arg("--version");
    if !run_bounded(probe, BOUND).is_ok_and(|(status, _, _)| status.success()) {
        println!("skipped: no systemd-analyze");
        return;
    }
    let unit = std::fs::read_to_string(packaging().join("zk-bin.service")).unwrap();
    assert!(unit.contains("\nType=simple\n") && unit.contains("\nRestart=on-failure\n"));
    assert!(unit.contains("\nUser=zookeeper\n"));
    let unit = unit.replace("/usr/local/bin/zk-bin", &bin.display().to_string());
    let dir = TempDir::new("zk-unit").unwrap();
    std::fs::write(dir.join("zk-bin.service"), unit).unwrap();
    let mut verify = Command::new("systemd-analyze");
    verify.arg("verify").arg(dir.join("zk-bin.service"));
    let (status, out, err) = run_bounded(verify, BOUND).unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    // Only complaints about this unit count: verify also loads the
    // machine's units it names (network-online.target, ...).
    let ours: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("zk-bin.service"))
        .collect();
    assert!(
        status.success() && ours.is_empty(),
        "systemd-analyze verify: {status}: {said}"
    );
}
