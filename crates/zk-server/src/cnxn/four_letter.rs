//! The four-letter words (`FourLetterCommands`): a client whose first four
//! bytes spell one of them gets a text answer instead of a session.

use std::collections::HashSet;

use zk_config::{SystemProperties, ALL_FOUR_LETTER_WORDS};

/// The command a frame length stands for, if its four bytes spell a known
/// word.
pub fn command_of(len_bytes: [u8; 4]) -> Option<&'static str> {
    ALL_FOUR_LETTER_WORDS
        .iter()
        .copied()
        .find(|w| w.as_bytes() == len_bytes)
}

/// The enabled words (`4lw.commands.whitelist`): the listed ones (`*` for
/// all), always `srvr` (zkServer.sh needs it), and `isro` when
/// `readonlymode.enabled` is true. 3.8's default is therefore `srvr` only.
pub fn whitelist(props: &SystemProperties) -> HashSet<String> {
    let mut set = HashSet::new();
    if let Some(list) = props.get("zookeeper.4lw.commands.whitelist") {
        for cmd in list.split(',') {
            let cmd = cmd.trim();
            if cmd == "*" {
                set.extend(ALL_FOUR_LETTER_WORDS.iter().map(|s| s.to_string()));
                break;
            }
            if !cmd.is_empty() {
                set.insert(cmd.to_string());
            }
        }
    }
    if props.get("readonlymode.enabled").unwrap_or("false") == "true" {
        set.insert("isro".into());
    }
    set.insert("srvr".into());
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_whitelist_is_srvr_only() {
        let w = whitelist(&SystemProperties::new());
        assert_eq!(w, HashSet::from(["srvr".to_string()]));
    }

    #[test]
    fn star_and_lists() {
        let mut p = SystemProperties::new();
        p.set("zookeeper.4lw.commands.whitelist", " ruok , stat,");
        let w = whitelist(&p);
        assert!(w.contains("ruok") && w.contains("stat") && w.contains("srvr"));
        assert_eq!(w.len(), 3);
        p.set("zookeeper.4lw.commands.whitelist", "*");
        assert!(whitelist(&p).contains("mntr"));
    }

    #[test]
    fn words_are_recognised_by_their_bytes() {
        assert_eq!(command_of(*b"ruok"), Some("ruok"));
        assert_eq!(command_of([0, 0, 0, 45]), None);
    }
}
