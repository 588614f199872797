//! `Db` as a `storage::WalSource`: remote_write's queue follows the data dir's WAL
//! (`wal/`) through `wal::WalFollow`, which needs only the directory. A read-only `Db`
//! follows the directory too (another process may be writing it).

use crate::storage::{StorageError, WalFollower, WalPosition, WalSource};
use crate::tsdb::wal::WalFollow;

use super::{Db, WAL_DIR};

impl WalSource for Db {
    fn follow(&self, from: Option<WalPosition>) -> Result<Box<dyn WalFollower>, StorageError> {
        let dir = self.wal_dir().unwrap_or_else(|| self.dir().join(WAL_DIR));
        Ok(Box::new(WalFollow::open(&dir, from)?))
    }
}
