//! One side of a SASL exchange over loopback TCP, with the mechanism
//! zk-config's `SecurityUtils` picks for a JAAS section (GSSAPI for a
//! Krb5LoginModule principal, else DIGEST-MD5): the peer of the JDK's
//! GSSAPI in `tests/kerberos_sasl.rs` (which runs the same framing in
//! Java). A process of its own so that each gets its own `KRB5_CONFIG`.
//!
//! ```text
//! zk-sasl-peer server PORT JAAS SECTION [--quorum-hosts=H1,H2] [-Dkey=value ...]
//! zk-sasl-peer client PORT JAAS SECTION SERVICE_PRINCIPAL [-Dkey=value ...]
//! ```
//!
//! With `--quorum-hosts` the server is a quorum peer's (3.8's
//! `SaslQuorumAuthServer`): protocol `zookeeper-quorum` and the quorum
//! callback handler, which admits Kerberos learners of those hosts only.
//!
//! The `-D` flags are the system properties the login reads
//! (`zookeeper.kerberos.removeRealmFromPrincipal`, ...);
//! `java.security.krb5.conf` defaults to `KRB5_CONFIG`.
//!
//! Framing: the client sends `u32 length, token`; the server answers
//! `u8 status (0 continue, 1 complete, 2 failed), u32 length, token or
//! message`. Prints `LISTENING`, then `AUTHORIZED <id>` (server) or
//! `COMPLETE` (client); on failure `FAILED: <why>` and exit status 1.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use zk_config::sasl::{
    create_sasl_client_for_service, create_sasl_server, create_sasl_server_with_handler, Login,
    SaslServer, SaslServerCallbackHandler, QUORUM_PROTOCOL, QUORUM_SERVER_NAME, ZOOKEEPER_PROTOCOL,
    ZOOKEEPER_SERVER_NAME,
};
use zk_config::{JaasConfiguration, SystemProperties};

fn read_exact(stream: &mut TcpStream, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf)?;
    Ok(buf)
}

fn read_token(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let len = read_exact(stream, 4)?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len > 1 << 20 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("token of {len} bytes"),
        ));
    }
    read_exact(stream, len)
}

fn write_token(stream: &mut TcpStream, status: Option<u8>, token: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(token.len() + 5);
    frame.extend(status);
    frame.extend_from_slice(&(token.len() as u32).to_be_bytes());
    frame.extend_from_slice(token);
    stream.write_all(&frame)
}

fn login(jaas: &str, section: &str, flags: &[&str]) -> Result<Login, String> {
    let mut props = SystemProperties::new();
    if let Ok(conf) = std::env::var("KRB5_CONFIG") {
        props.set("java.security.krb5.conf", conf);
    }
    for flag in flags {
        let (key, value) = flag
            .strip_prefix("-D")
            .and_then(|kv| kv.split_once('='))
            .ok_or_else(|| format!("not a -Dkey=value flag: {flag}"))?;
        props.set(key, value);
    }
    let path = Path::new(jaas);
    let config = JaasConfiguration::read(path)?;
    Login::new(section, &config, path)?.with_system_properties(&props)
}

/// The client port's mechanism, or with `quorum_hosts` the quorum's.
fn mechanism(
    login: &Login,
    quorum_hosts: Option<&str>,
) -> Result<Box<dyn SaslServer>, zk_config::sasl::SaslException> {
    match quorum_hosts {
        None => create_sasl_server(login, ZOOKEEPER_PROTOCOL, ZOOKEEPER_SERVER_NAME),
        Some(hosts) => {
            let hosts = hosts.split(',').map(str::to_string).collect();
            let handler = SaslServerCallbackHandler::quorum(login).with_authorized_hosts(hosts);
            create_sasl_server_with_handler(login, QUORUM_PROTOCOL, QUORUM_SERVER_NAME, handler)
        }
    }
}

fn serve(port: &str, login: &Login, quorum_hosts: Option<&str>) -> Result<String, String> {
    let listener =
        TcpListener::bind(format!("127.0.0.1:{port}")).map_err(|e| format!("bind: {e}"))?;
    println!("LISTENING");
    let (mut stream, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut server = match mechanism(login, quorum_hosts) {
        Ok(server) => server,
        Err(e) => {
            let _ = write_token(&mut stream, Some(2), e.message.as_bytes());
            return Err(e.message);
        }
    };
    println!("MECHANISM {}", server.mechanism_name());
    loop {
        let response = read_token(&mut stream).map_err(|e| format!("read: {e}"))?;
        match server.evaluate_response(&response) {
            Ok(token) if server.is_complete() => {
                write_token(&mut stream, Some(1), &token).map_err(|e| format!("write: {e}"))?;
                return Ok(format!(
                    "AUTHORIZED {}",
                    server.authorization_id().unwrap_or("")
                ));
            }
            Ok(token) => {
                write_token(&mut stream, Some(0), &token).map_err(|e| format!("write: {e}"))?
            }
            Err(e) => {
                let _ = write_token(&mut stream, Some(2), e.message.as_bytes());
                return Err(e.message);
            }
        }
    }
}

fn connect(port: &str, login: &Login, service: &str) -> Result<String, String> {
    // Connected first, as a ZooKeeper client is before its SASL starts:
    // a client that cannot make its mechanism closes the connection.
    let mut stream =
        TcpStream::connect(format!("127.0.0.1:{port}")).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut client =
        create_sasl_client_for_service(login, service, ZOOKEEPER_PROTOCOL, ZOOKEEPER_SERVER_NAME)
            .map_err(|e| e.message)?;
    let first = client.evaluate_challenge(&[]).map_err(|e| e.message)?;
    write_token(&mut stream, None, &first).map_err(|e| format!("write: {e}"))?;
    loop {
        let status = read_exact(&mut stream, 1).map_err(|e| format!("read: {e}"))?[0];
        let token = read_token(&mut stream).map_err(|e| format!("read: {e}"))?;
        match status {
            0 => {
                let answer = client.evaluate_challenge(&token).map_err(|e| e.message)?;
                write_token(&mut stream, None, &answer).map_err(|e| format!("write: {e}"))?;
            }
            1 if client.is_complete() && token.is_empty() => return Ok("COMPLETE".into()),
            1 => return Err("the server completed before this client".into()),
            _ => {
                return Err(format!(
                    "server failed: {}",
                    String::from_utf8_lossy(&token)
                ))
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["server", port, jaas, section, flags @ ..] => {
            let quorum = flags
                .first()
                .and_then(|f| f.strip_prefix("--quorum-hosts="));
            let flags = if quorum.is_some() { &flags[1..] } else { flags };
            login(jaas, section, flags).and_then(|login| serve(port, &login, quorum))
        }
        ["client", port, jaas, section, service, flags @ ..] => {
            login(jaas, section, flags).and_then(|login| connect(port, &login, service))
        }
        _ => Err(
            "usage: zk-sasl-peer server PORT JAAS SECTION [--quorum-hosts=H,..] [-Dk=v..] | \
                  client PORT JAAS SECTION SERVICE [-Dk=v..]"
                .into(),
        ),
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(why) => {
            println!("FAILED: {why}");
            std::process::exit(1);
        }
    }
}
