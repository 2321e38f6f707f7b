//! Apache Curator's recipes, unmodified, against zk-bin: the Java program
//! `integration/java/CuratorRecipes.java` (InterProcessMutex, LeaderLatch,
//! DistributedQueue, NodeCache, CuratorCache, PersistentTtlNode) is
//! compiled at test time against Debian's jars and run against zk-bin and,
//! as a control that the checks themselves are right, against Apache
//! ZooKeeper 3.8. Every check must print its `ok` line on both.
//!
//! PersistentTtlNode needs TTL nodes (`extendedTypesEnabled=true`) and a
//! container check every few hundred ms instead of every minute; 3.8 reads
//! `znode.container.checkIntervalMs` only as a JVM property, so both
//! servers get it that way (zk-bin from `JVMFLAGS`, as zkServer.sh passes it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration::apache::{run_bounded, ApacheZk, ServerConfig};
use integration::ports::{free_port, TempDir};
use integration::zk_bin::ZkBinServer;

/// Where Debian installs Java libraries; `ZK_APACHE_JAR_DIR` overrides it,
/// as for the Apache server.
const DEFAULT_JAR_DIR: &str = "/usr/share/java";

/// What the program needs at run time: Curator's three jars and what they
/// link to (Debian's curator-recipes.jar manifest lists the same). The
/// ZooKeeper client itself needs no Netty: it uses its NIO socket.
const CURATOR_JARS: &[&str] = &[
    "curator-client",
    "curator-framework",
    "curator-recipes",
    "zookeeper",
    "zookeeper-jute",
    "guava",
    "slf4j-api",
];

/// Sends Curator's and ZooKeeper's log to stderr; without it slf4j warns
/// once and stays silent.
const OPTIONAL_JARS: &[&str] = &["slf4j-simple"];

/// The program's answer when every recipe works.
const EXPECTED: &[&str] = &[
    "ok mutex: 4 clients x 5 acquisitions, never two holders, no lock node left",
    "ok leader-latch: exactly one of 3 leads; when it closes exactly one of the others takes over",
    "ok distributed-queue: 10 items received once each, in the order put",
    "ok node-cache: create, set and delete each seen",
    "ok curator-cache: create, change and delete events for the root and a child, in order",
    "ok persistent-ttl-node: present for 4 TTLs while its client lives, removed after it closes",
];

const CONTAINER_CHECK_MS: &str = "200";

/// The program's own deadline is 150 s; this one only catches a stuck JVM.
const RUN_TIMEOUT: Duration = Duration::from_secs(200);

/// `javac` and `java` from `JAVA_HOME`, else from `PATH`.
fn find_jdk() -> Result<(PathBuf, PathBuf), String> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let javac = dirs
        .iter()
        .map(|d| d.join("javac"))
        .find(|p| p.is_file())
        .ok_or("no `javac` on PATH (apt-get install default-jdk-headless)")?;
    // The `java` beside that javac, so both are the same JDK.
    let java = std::fs::canonicalize(&javac)
        .ok()
        .and_then(|real| real.parent().map(|bin| bin.join("java")))
        .filter(|p| p.is_file())
        .or_else(|| dirs.iter().map(|d| d.join("java")).find(|p| p.is_file()))
        .ok_or("no `java` beside javac nor on PATH")?;
    Ok((javac, java))
}

/// The class path of Curator and its dependencies, or which jar is missing.
fn curator_classpath() -> Result<Vec<PathBuf>, String> {
    let dir = std::env::var_os("ZK_APACHE_JAR_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_JAR_DIR));
    let mut jars = Vec::new();
    for name in CURATOR_JARS {
        let jar = dir.join(format!("{name}.jar"));
        if !jar.is_file() {
            return Err(format!(
                "{} is missing (apt-get install libcurator-recipes-java)",
                jar.display()
            ));
        }
        jars.push(jar);
    }
    jars.extend(
        OPTIONAL_JARS
            .iter()
            .map(|name| dir.join(format!("{name}.jar")))
            .filter(|jar| jar.is_file()),
    );
    Ok(jars)
}

fn join_classpath(entries: &[PathBuf]) -> String {
    std::env::join_paths(entries)
        .expect("jar paths hold no ':'")
        .into_string()
        .expect("jar paths are UTF-8")
}

/// Compiles CuratorRecipes.java into `out`.
fn compile(javac: &Path, classpath: &[PathBuf], out: &Path) -> Result<(), String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("java/CuratorRecipes.java");
    let mut cmd = Command::new(javac);
    cmd.arg("-nowarn")
        .arg("-d")
        .arg(out)
        .arg("-cp")
        .arg(join_classpath(classpath))
        .arg(&source);
    let (status, stdout, stderr) = run_bounded(cmd, Duration::from_secs(180))
        .map_err(|e| format!("javac {}: {e}", source.display()))?;
    if !status.success() {
        return Err(format!(
            "javac {} failed ({status}):\n{}{}",
            source.display(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ));
    }
    Ok(())
}

/// Runs the program against `server`; its stdout lines, or why it failed
/// to run at all. A failed check is a `FAIL` line, not an error here.
fn run_recipes(java: &Path, classpath: &[PathBuf], server: &str) -> (Vec<String>, String) {
    let mut cmd = Command::new(java);
    cmd.args(["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
        .arg("-cp")
        .arg(join_classpath(classpath))
        .arg("CuratorRecipes")
        .arg(server);
    let (status, stdout, stderr) =
        run_bounded(cmd, RUN_TIMEOUT).unwrap_or_else(|e| panic!("CuratorRecipes {server}: {e}"));
    let lines = String::from_utf8_lossy(&stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let stderr = format!(
        "exit status {status}; stderr:\n{}",
        String::from_utf8_lossy(&stderr)
    );
    (lines, stderr)
}

fn assert_all_ok(who: &str, lines: &[String], stderr: &str) {
    assert_eq!(
        lines,
        EXPECTED,
        "Curator's recipes against {who}:\n{}\n{stderr}",
        lines.join("\n")
    );
}

#[test]
fn curator_recipes_work_against_zk_bin_as_against_apache() {
    let (javac, java) = match find_jdk() {
        Ok(jdk) => jdk,
        Err(why) => {
            println!("skipped: compiling the Curator program needs a JDK: {why}");
            return;
        }
    };
    let mut classpath = match curator_classpath() {
        Ok(jars) => jars,
        Err(why) => {
            println!("skipped: Apache Curator is not installed: {why}");
            return;
        }
    };
    let zk = match ApacheZk::find() {
        Ok(zk) => zk,
        Err(why) => {
            println!("skipped: the Apache control needs Apache ZooKeeper's jars: {why}");
            return;
        }
    };
    let classes = TempDir::new("zk-curator-classes").unwrap();
    compile(&javac, &classpath, classes.path()).unwrap_or_else(|e| panic!("{e}"));
    classpath.insert(0, classes.path().to_path_buf());

    let ours_dir = TempDir::new("zk-curator-ours").unwrap();
    let jvmflags = format!("-Dznode.container.checkIntervalMs={CONTAINER_CHECK_MS}");
    let ours = ZkBinServer::start_with_env(
        &ours_dir,
        free_port().unwrap(),
        "extendedTypesEnabled=true",
        &[("JVMFLAGS", &jvmflags)],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (ours_lines, ours_err) = run_recipes(&java, &classpath, &ours.addr.to_string());
    let ours_log = std::fs::read_to_string(ours_dir.join("server.log")).unwrap_or_default();
    drop(ours);

    let work = TempDir::new("zk-curator-apache").unwrap();
    let mut config = ServerConfig::new(work.path(), &work.join("data"), free_port().unwrap());
    config.extended_types = true;
    config.jvm_props.push(jvmflags.clone());
    let apache = zk.start(&config).unwrap_or_else(|e| panic!("{e}"));
    let (theirs_lines, theirs_err) = run_recipes(&java, &classpath, &apache.connect_string());

    // The control first: a failure there is the program's, not zk-bin's.
    assert_all_ok("Apache ZooKeeper 3.8 (control)", &theirs_lines, &theirs_err);
    assert_all_ok(
        "zk-bin",
        &ours_lines,
        &format!("{ours_err}\n--- zk-bin's log ---\n{ours_log}"),
    );
    println!(
        "Curator recipes, same answers from zk-bin and Apache:\n{}",
        ours_lines.join("\n")
    );
    for (who, stderr) in [("zk-bin", &ours_err), ("Apache", &theirs_err)] {
        for line in stderr.lines().filter(|l| l.contains(" after close")) {
            println!("{who}: {line}");
        }
    }
}
