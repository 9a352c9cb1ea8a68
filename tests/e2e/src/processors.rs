//! Two hosts that share one state folder and one Redis server, so two
//! processor components subscribe to the same channel and claim files
//! from the same database, as two replicas would.

use std::path::PathBuf;

use crate::client::{Client, SESSION_COOKIE};
use crate::redis::RedisServer;
use crate::stack::{ADMIN_PASSWORD, ADMIN_USERNAME};
use crate::stowage::{Stowage, StowageOptions};

/// Two hosts on one database and one Redis server. Fields drop in order,
/// so the hosts stop before Redis.
pub struct TwoProcessors {
    pub hosts: [Stowage; 2],
    pub redis: RedisServer,
}

impl TwoProcessors {
    /// Starts Redis, then a first host, then a second host in the first
    /// one's state folder. `variables` go to both hosts.
    pub fn start(variables: &[(&str, &str)]) -> TwoProcessors {
        let redis = RedisServer::start();
        let options = variables
            .iter()
            .fold(StowageOptions::new(&redis.url()), |options, (name, value)| {
                options.variable(name, value)
            });

        let first = Stowage::start(options.clone());
        let second = Stowage::start(options.in_state_dir(first.state_dir()));
        TwoProcessors {
            hosts: [first, second],
            redis,
        }
    }

    /// Signs in as the sample admin on the first host and returns one
    /// client per host, both with that session: the hosts share the
    /// key-value store that holds it.
    pub fn admin_clients(&self) -> [Client; 2] {
        let first = self.hosts[0].client();
        first.login(ADMIN_USERNAME, ADMIN_PASSWORD);
        let session = first
            .cookie(SESSION_COOKIE)
            .expect("login set the session cookie");

        let second = self.hosts[1].client();
        second.set_cookie(SESSION_COOKIE, &session);
        [first, second]
    }

    /// Returns the SQLite file both hosts use.
    pub fn database_path(&self) -> PathBuf {
        self.hosts[0].database_path()
    }

    /// Returns both hosts' logs, first host first.
    pub fn logs(&self) -> [String; 2] {
        [self.hosts[0].log(), self.hosts[1].log()]
    }

    /// Prints the end of both hosts' logs, for a failed test.
    pub fn print_log_tails(&self) {
        for host in &self.hosts {
            host.print_log_tail();
        }
    }
}
