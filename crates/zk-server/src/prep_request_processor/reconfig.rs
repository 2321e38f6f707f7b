//! The membership half of `pRequest2TxnReconfig`: from the leader's
//! configs and a [`ReconfigRequest`], the new config to propose, or the
//! error code 3.8 answers with. Kept apart from the processor so that the
//! checks can be tested without a running server.

use std::collections::{BTreeMap, BTreeSet};

use log::{info, warn};
use zk_config::{NewMembersError, Properties, QuorumServer, QuorumVerifier};
use zk_persistence::zoo_defs::Code;

use super::PrepError;
use crate::proto::ReconfigRequest;
use crate::server_role::ReconfigContext;

/// `StringUtils.split`: pieces between `sep`, trimmed, empty ones dropped.
fn split_trimmed(s: &str, sep: char) -> Vec<&str> {
    s.split(sep)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Java's `Long.parseLong`, whose failure escapes 3.8's reconfig code as
/// a runtime exception (the client gets MARSHALLINGERROR).
fn parse_long(s: &str) -> Result<i64, PrepError> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty()
        || !digits
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(PrepError::Marshalling(format!("For input string: \"{s}\"")));
    }
    digits
        .parse()
        .map_err(|_| PrepError::Marshalling(format!("For input string: \"{s}\"")))
}

fn bad_arguments(msg: &str) -> PrepError {
    warn!("{msg}");
    PrepError::Keeper(Code::BADARGUMENTS)
}

/// The checks after the session and the leader are known, in 3.8's order:
/// no reconfig in progress, `fromConfig`, the new members, enough voters,
/// a synced quorum of them. Returns the new config, its version `zxid`.
pub(super) fn new_config(
    ctx: &ReconfigContext,
    req: &ReconfigRequest,
    zxid: i64,
) -> Result<QuorumVerifier, PrepError> {
    let last_seen = &ctx.last_seen_quorum_verifier;
    if last_seen.version() != ctx.quorum_verifier.version() {
        return Err(Code::RECONFIGINPROGRESS.into());
    }
    if req.cur_config_id != -1 && req.cur_config_id != last_seen.version() {
        info!(
            "Reconfiguration from version {} failed -- last seen version is {}",
            req.cur_config_id,
            last_seen.version()
        );
        return Err(Code::BADVERSION.into());
    }

    // A client that leaves a list out sends null, which reads as "" here:
    // an empty newMembers is taken as absent (an incremental reconfig).
    let mut qv = if !req.new_members.is_empty() {
        info!("Non-incremental reconfig");
        // Commas and newlines both separate the lines.
        let text = req.new_members.replace(',', "\n");
        let props = Properties::parse(&text).map_err(|e| bad_arguments(&e.to_string()))?;
        QuorumVerifier::parse_new_members(&props, ctx.standalone_enabled, ctx.multi_address_enabled)
            .map_err(|e| match e {
                NewMembersError::Config(c) => bad_arguments(&c.to_string()),
                NewMembersError::Invalid(m) => PrepError::Marshalling(m),
            })?
    } else {
        info!("Incremental reconfig");
        if last_seen.is_hierarchical() {
            return Err(bad_arguments(
                "Incremental reconfiguration requested but last configuration seen has a non-majority quorum system",
            ));
        }
        let mut next: BTreeMap<i64, QuorumServer> = last_seen.all_members().clone();
        for leaving in split_trimmed(&req.leaving_servers, ',') {
            next.remove(&parse_long(leaving)?);
        }
        for joiner in split_trimmed(&req.joining_servers, ',') {
            // server.N=quorum:election[:role][;[clientaddr:]clientport]
            let parts = split_trimmed(joiner, '=');
            if parts.len() != 2 {
                return Err(bad_arguments("Wrong format of server string"));
            }
            let id_text = &parts[0][parts[0].rfind('.').map_or(0, |i| i + 1)..];
            let sid = parse_long(id_text)?;
            let qs =
                QuorumServer::parse(sid, parts[1], ctx.multi_address_enabled).map_err(|e| {
                    warn!("Reconfiguration failed: {e}");
                    PrepError::Keeper(Code::BADARGUMENTS)
                })?;
            if qs.client_addr.is_none() {
                return Err(bad_arguments(
                    "Wrong format of server string - each server should have 3 ports specified",
                ));
            }
            for other in next.values().filter(|o| o.id != qs.id) {
                if let Err(clash) = qs.check_address_duplicate(other) {
                    return Err(bad_arguments(&clash));
                }
            }
            next.insert(qs.id, qs);
        }
        QuorumVerifier::Majority(zk_config::QuorumMaj::new(next))
    };
    qv.set_version(zxid);

    let voters = qv.voting_members();
    if ctx.standalone_enabled && voters.len() < 2 {
        return Err(bad_arguments(
            "Reconfig failed - new configuration must include at least 2 followers",
        ));
    } else if voters.is_empty() {
        return Err(bad_arguments(
            "Reconfig failed - new configuration must include at least 1 follower",
        ));
    }

    // `Leader.isQuorumSynced`: the leader itself and the synced followers
    // that vote in the new config must be a quorum of it.
    let synced: BTreeSet<i64> = std::iter::once(ctx.my_id)
        .chain(ctx.synced_learners.iter().copied())
        .filter(|sid| voters.contains_key(sid))
        .collect();
    if !qv.contains_quorum(&synced) {
        warn!("Reconfig failed - there must be a connected and synced quorum in new configuration");
        return Err(Code::NEWCONFIGNOQUORUM.into());
    }
    Ok(qv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qv(text: &str, version: i64) -> QuorumVerifier {
        let props = Properties::parse(&text.replace(',', "\n")).unwrap();
        let mut qv = QuorumVerifier::from_properties(&props, false, false).unwrap();
        qv.set_version(version);
        qv
    }

    const THREE: &str = "server.1=127.0.0.1:2881:3881;2181,server.2=127.0.0.1:2882:3882;2182,\
                         server.3=127.0.0.1:2883:3883;2183";

    fn ctx(synced: &[i64]) -> ReconfigContext {
        ReconfigContext {
            my_id: 3,
            quorum_verifier: qv(THREE, 0x100000000),
            last_seen_quorum_verifier: qv(THREE, 0x100000000),
            synced_learners: synced.iter().copied().collect(),
            standalone_enabled: true,
            multi_address_enabled: false,
        }
    }

    fn req(joining: &str, leaving: &str, members: &str, from: i64) -> ReconfigRequest {
        ReconfigRequest {
            joining_servers: joining.into(),
            leaving_servers: leaving.into(),
            new_members: members.into(),
            cur_config_id: from,
        }
    }

    fn code(r: Result<QuorumVerifier, PrepError>) -> Result<QuorumVerifier, Option<Code>> {
        r.map_err(|e| match e {
            PrepError::Keeper(c) => Some(c),
            PrepError::Marshalling(_) => None,
        })
    }

    const ZXID: i64 = 0x100000005;

    #[test]
    fn remove_then_add_a_follower() {
        let c = ctx(&[1, 2]);
        let new = code(new_config(&c, &req("", "2", "", -1), ZXID)).unwrap();
        assert_eq!(new.version(), ZXID);
        assert_eq!(
            new.voting_members().keys().copied().collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(
            new.to_string(),
            "server.1=127.0.0.1:2881:3881:participant;0.0.0.0:2181\n\
             server.3=127.0.0.1:2883:3883:participant;0.0.0.0:2183\nversion=100000005"
        );
        let mut c2 = ctx(&[1]);
        c2.quorum_verifier = new.clone();
        c2.last_seen_quorum_verifier = new;
        let back = code(new_config(
            &c2,
            &req("server.2=127.0.0.1:2882:3882;2182", "", "", ZXID),
            ZXID + 1,
        ))
        .unwrap();
        assert_eq!(back.voting_members().len(), 3);
        // Joining a server already there replaces its line (as observer here).
        let obs = code(new_config(
            &c,
            &req("server.2=127.0.0.1:2882:3882:observer;2182", "", "", -1),
            ZXID,
        ))
        .unwrap();
        assert_eq!(
            obs.observing_members().keys().copied().collect::<Vec<_>>(),
            [2]
        );
    }

    #[test]
    fn non_incremental_with_commas_or_newlines() {
        let c = ctx(&[1, 2]);
        let members = "server.1=127.0.0.1:2881:3881;2181\nserver.3=127.0.0.1:2883:3883;2183";
        let new = code(new_config(&c, &req("", "", members, -1), ZXID)).unwrap();
        assert_eq!(
            new.voting_members().keys().copied().collect::<Vec<_>>(),
            [1, 3]
        );
        let bad = "server.1=127.0.0.1:2881:3881;2181,tickTime=5";
        assert_eq!(
            code(new_config(&c, &req("", "", bad, -1), ZXID)).unwrap_err(),
            Some(Code::BADARGUMENTS)
        );
        // Observers without participants: 3.8's IllegalArgumentException.
        let obs = "server.1=127.0.0.1:2881:3881:observer;2181";
        assert_eq!(
            code(new_config(&c, &req("", "", obs, -1), ZXID)).unwrap_err(),
            None
        );
    }

    #[test]
    fn checks_and_their_codes_in_order() {
        // A reconfig in progress wins over a stale fromConfig.
        let mut busy = ctx(&[1, 2]);
        busy.last_seen_quorum_verifier.set_version(ZXID - 1);
        assert_eq!(
            code(new_config(&busy, &req("", "2", "", 7), ZXID)).unwrap_err(),
            Some(Code::RECONFIGINPROGRESS)
        );
        let c = ctx(&[1, 2]);
        assert_eq!(
            code(new_config(&c, &req("", "2", "", 7), ZXID)).unwrap_err(),
            Some(Code::BADVERSION)
        );
        for joining in [
            "server.4=127.0.0.1:2884:3884", // no client port
            "server.4",                     // no '='
            "server.4=127.0.0.1:2884;2184", // one quorum port
            "server.4=127.0.0.1:2884:3884:boss;2184",
        ] {
            assert_eq!(
                code(new_config(&c, &req(joining, "", "", -1), ZXID)).unwrap_err(),
                Some(Code::BADARGUMENTS),
                "{joining}"
            );
        }
        // A non-numeric id or leaving sid escapes as a runtime exception.
        assert_eq!(
            code(new_config(
                &c,
                &req("server.x=127.0.0.1:1:2;3", "", "", -1),
                ZXID
            ))
            .unwrap_err(),
            None
        );
        assert_eq!(
            code(new_config(&c, &req("", "two", "", -1), ZXID)).unwrap_err(),
            None
        );
        // Removing two of three leaves one voter: under standaloneEnabled
        // that is too few.
        assert_eq!(
            code(new_config(&c, &req("", "1,2", "", -1), ZXID)).unwrap_err(),
            Some(Code::BADARGUMENTS)
        );
        let mut lone = ctx(&[1, 2]);
        lone.standalone_enabled = false;
        assert!(code(new_config(&lone, &req("", "1,2", "", -1), ZXID)).is_ok());
        // Nobody synced: the leader alone is no quorum of {1, 3}.
        assert_eq!(
            code(new_config(&ctx(&[]), &req("", "2", "", -1), ZXID)).unwrap_err(),
            Some(Code::NEWCONFIGNOQUORUM)
        );
        // A synced follower that the new config drops does not count.
        assert_eq!(
            code(new_config(&ctx(&[1]), &req("", "1", "", -1), ZXID)).unwrap_err(),
            Some(Code::NEWCONFIGNOQUORUM)
        );
    }

    #[test]
    fn address_clashes_between_servers() {
        let c = ReconfigContext {
            quorum_verifier: qv(
                "server.1=10.0.0.1:2881:3881;2181,server.2=10.0.0.2:2882:3882;2182",
                0,
            ),
            last_seen_quorum_verifier: qv(
                "server.1=10.0.0.1:2881:3881;2181,server.2=10.0.0.2:2882:3882;2182",
                0,
            ),
            my_id: 1,
            ..ctx(&[2])
        };
        assert_eq!(
            code(new_config(
                &c,
                &req("server.3=10.0.0.1:2881:3883;2183", "", "", -1),
                ZXID
            ))
            .unwrap_err(),
            Some(Code::BADARGUMENTS)
        );
        // Loopback addresses never clash (every one-host ensemble has them).
        assert!(code(new_config(
            &ctx(&[1, 2]),
            &req("server.4=127.0.0.1:2881:3884;2184", "", "", -1),
            ZXID
        ))
        .is_ok());
    }
}
