//! One Redis server and one host wired together, optionally shared by the
//! tests of one test binary.

use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use crate::client::Client;
use crate::redis::RedisServer;
use crate::stowage::{Stowage, StowageOptions};

/// The sample user that `sample_data=true` creates.
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "password";

/// A host subscribed to its own Redis server. Fields drop in order, so
/// the host stops before Redis.
pub struct Stack {
    pub stowage: Stowage,
    pub redis: RedisServer,
    admin: OnceLock<Client>,
}

impl Stack {
    /// Starts Redis and then a host with the default test options.
    pub fn start() -> Stack {
        Stack::start_with(StowageOptions::new)
    }

    /// Starts Redis and then a host with the options `options` returns for
    /// the Redis URL.
    pub fn start_with(options: impl FnOnce(&str) -> StowageOptions) -> Stack {
        let redis = RedisServer::start();
        let stowage = Stowage::start(options(&redis.url()));
        Stack {
            stowage,
            redis,
            admin: OnceLock::new(),
        }
    }

    /// Returns the stack that the running tests of this binary share,
    /// starting one when none is running. It stops when the last handle
    /// drops, so tests may get a fresh stack and must not rely on what
    /// other tests stored.
    pub fn shared() -> StackHandle {
        static SHARED: Mutex<Weak<Stack>> = Mutex::new(Weak::new());

        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stack) = shared.upgrade() {
            return StackHandle { stack };
        }
        let stack = Arc::new(Stack::start());
        *shared = Arc::downgrade(&stack);
        StackHandle { stack }
    }

    /// Creates a client without cookies.
    pub fn client(&self) -> Client {
        self.stowage.client()
    }

    /// Returns a client signed in as the sample admin, created on first use.
    /// Tests share it, so that a stack signs in once.
    pub fn admin(&self) -> &Client {
        self.admin.get_or_init(|| {
            let client = self.client();
            client.login(ADMIN_USERNAME, ADMIN_PASSWORD);
            client
        })
    }
}

/// A test's reference to a shared [`Stack`]. When the test fails, dropping
/// it prints the end of the host's log.
pub struct StackHandle {
    stack: Arc<Stack>,
}

impl Deref for StackHandle {
    type Target = Stack;

    fn deref(&self) -> &Stack {
        &self.stack
    }
}

impl Drop for StackHandle {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stack.stowage.print_log_tail();
        }
    }
}
