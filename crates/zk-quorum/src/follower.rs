//! `Follower` and `Observer`: a learner's life under one leader, from
//! connecting to the connection's end.
//!
//! `follow_leader` (and `observe_leader`) run on the peer's thread:
//! connect, register, check the epoch, sync, then read packets until the
//! leader goes away or the peer stops:
//!
//! | packet | follower | observer |
//! |---|---|---|
//! | PING | reply with session touches | same |
//! | PROPOSAL | log it; ACK once durable | ignored (observers never vote) |
//! | COMMIT | apply the oldest logged proposal | — |
//! | INFORM | — | apply the txn it carries |
//! | SYNC | answer the oldest pending client sync | same |
//! | REVALIDATE | finish the reconnecting session | same |
//!
//! The caller goes back to LOOKING when these return.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use log::{error, info, warn};

use crate::learner::{proposal_entry, Learner};
use crate::quorum_packet::{epoch_of_zxid, packet_type, parse_revalidate_reply, QuorumPacket};
use crate::quorum_peer::{QuorumPeer, ZabState};
use crate::servers::LearnerZkServer;

/// Follows the leader at `addr` until the connection ends. Always ends in
/// an error saying why (the leader went away, the peer stopped, a protocol
/// violation).
pub fn follow_leader(
    peer: &Arc<QuorumPeer>,
    zk: &dyn LearnerZkServer,
    addr: SocketAddr,
) -> io::Error {
    run_learner(peer, zk, addr, false)
}

/// Observes the leader at `addr` until the connection ends.
pub fn observe_leader(
    peer: &Arc<QuorumPeer>,
    zk: &dyn LearnerZkServer,
    addr: SocketAddr,
) -> io::Error {
    run_learner(peer, zk, addr, true)
}

fn run_learner(
    peer: &Arc<QuorumPeer>,
    zk: &dyn LearnerZkServer,
    addr: SocketAddr,
    is_observer: bool,
) -> io::Error {
    peer.set_zab_state(ZabState::Discovery);
    let mut learner = match Learner::connect_to_leader(peer.clone(), addr) {
        Ok(l) => l,
        Err(e) => return e,
    };
    zk.set_leader_writer(learner.writer().clone());
    let err = match learn(peer, zk, &mut learner, is_observer) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    warn!(
        "Exception when {} the leader {}: {}",
        if is_observer {
            "observing"
        } else {
            "following"
        },
        addr,
        err
    );
    learner.close();
    zk.shutdown(peer.sync_mode() == crate::quorum_peer::SyncMode::Snap);
    err
}

enum Never {}

fn learn(
    peer: &Arc<QuorumPeer>,
    zk: &dyn LearnerZkServer,
    learner: &mut Learner,
    is_observer: bool,
) -> io::Result<Never> {
    let pkt = if is_observer {
        packet_type::OBSERVERINFO
    } else {
        packet_type::FOLLOWERINFO
    };
    let new_epoch_zxid = learner.register_with_leader(pkt)?;
    let new_epoch = epoch_of_zxid(new_epoch_zxid);
    if new_epoch < peer.accepted_epoch()? {
        error!(
            "Proposed leader epoch 0x{:x} is less than our accepted epoch 0x{:x}",
            new_epoch_zxid,
            peer.accepted_epoch()?
        );
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "Error: Epoch of leader is lower",
        ));
    }
    peer.set_zab_state(ZabState::Synchronization);
    learner.sync_with_leader(new_epoch_zxid, zk, is_observer)?;
    peer.set_zab_state(ZabState::Broadcast);
    info!(
        "Synced with the leader {} in epoch {}",
        learner.leader_addr(),
        new_epoch
    );
    loop {
        if !peer.is_running() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "peer stopped"));
        }
        let qp = learner.read_packet()?;
        if is_observer {
            process_observer_packet(learner, zk, &qp)?;
        } else {
            process_follower_packet(learner, zk, &qp)?;
        }
    }
}

/// `Follower.processPacket`.
fn process_follower_packet(
    learner: &mut Learner,
    zk: &dyn LearnerZkServer,
    qp: &QuorumPacket,
) -> io::Result<()> {
    match qp.packet_type {
        packet_type::PING => learner.ping(qp, zk)?,
        packet_type::PROPOSAL => {
            let entry = proposal_entry(qp)?;
            let zxid = entry.zxid();
            zk.log_request(entry)?;
            if !zk.acks_logged_txns() {
                learner.write_packet(&QuorumPacket::new(packet_type::ACK, zxid, None), true)?;
            }
        }
        packet_type::COMMIT => zk.commit(qp.zxid)?,
        packet_type::UPTODATE => error!("Received an UPTODATE message after Follower started"),
        packet_type::REVALIDATE => revalidate(zk, qp)?,
        packet_type::SYNC => zk.sync(),
        _ => warn!("Unknown packet type: {qp}"),
    }
    Ok(())
}

/// `Observer.processPacket`.
fn process_observer_packet(
    learner: &mut Learner,
    zk: &dyn LearnerZkServer,
    qp: &QuorumPacket,
) -> io::Result<()> {
    match qp.packet_type {
        packet_type::PING => learner.ping(qp, zk)?,
        packet_type::PROPOSAL => warn!("Ignoring proposal"),
        packet_type::COMMIT => warn!("Ignoring commit"),
        packet_type::UPTODATE => error!("Received an UPTODATE message after Observer started"),
        packet_type::REVALIDATE => revalidate(zk, qp)?,
        packet_type::SYNC => zk.sync(),
        packet_type::INFORM => zk.commit_request(proposal_entry(qp)?)?,
        _ => warn!("Unknown packet type: {qp}"),
    }
    Ok(())
}

fn revalidate(zk: &dyn LearnerZkServer, qp: &QuorumPacket) -> io::Result<()> {
    let (session, valid) = parse_revalidate_reply(qp.data())?;
    info!("Session 0x{session:x} is valid: {valid}");
    zk.finish_session_init(session, valid);
    Ok(())
}
