//! `zk-bin`: QuorumPeerMain and the data-directory tools.
fn main() {
    eprintln!("zk-bin: not yet runnable");
    std::process::exit(2);
}
