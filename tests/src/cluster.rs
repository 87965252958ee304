//! A PostgreSQL cluster of a test's own (`scripts/pg-sandbox.sh` with its own
//! `PGSANDBOX_DIR`), for tests that restart or reconfigure a server: never the shared one the
//! other tests use. Destroyed when dropped.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::repo_root;

/// A cluster of the test's own.
pub struct OwnCluster {
    /// The sandbox's state directory (`PGSANDBOX_DIR`).
    pub state: PathBuf,
    /// Its superuser URL.
    pub url: String,
}

impl OwnCluster {
    /// Starts a cluster whose state lives in `state` (a temporary directory of the test).
    pub fn start(state: &Path) -> OwnCluster {
        let out = sandbox(state, "start");
        assert!(
            out.status.success(),
            "pg-sandbox start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        OwnCluster {
            state: state.to_path_buf(),
            url,
        }
    }

    /// Runs `pg-sandbox.sh COMMAND` (`restart`, `stop`, ...) on this cluster.
    pub fn sandbox(&self, command: &str) -> Output {
        sandbox(&self.state, command)
    }

    /// The data directory (`dir=` in the sandbox's state file, `/data` under it).
    pub fn data_dir(&self) -> PathBuf {
        let state = std::fs::read_to_string(self.state.join("state")).unwrap();
        let dir = state
            .lines()
            .find_map(|l| l.strip_prefix("dir="))
            .expect("dir= in the sandbox state");
        Path::new(dir).join("data")
    }

    /// Writes a file into the data directory owned by the server's user, mode 0600 (the
    /// server refuses a key others can read).
    pub fn install(&self, name: &str, content: &str) {
        let data = self.data_dir();
        let owner = std::fs::metadata(&data).unwrap();
        let path = data.join(name);
        std::fs::write(&path, content).unwrap();
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// A superuser connection without TLS.
    pub fn superuser(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    /// Creates database `name` and returns its URL.
    pub fn create_db(&self, name: &str) -> String {
        self.superuser()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        crate::with_dbname(&self.url, name)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = sandbox(&self.state, "destroy");
    }
}

fn sandbox(dir: &Path, command: &str) -> Output {
    Command::new("bash")
        .arg(repo_root().join("scripts/pg-sandbox.sh"))
        .arg(command)
        .env("PGSANDBOX_DIR", dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}
