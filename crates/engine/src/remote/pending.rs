//! The multipart uploads a run has started and not yet completed or aborted, kept in a small
//! file in the data folder (`uploads/<location key>.tsv`), so that a run killed mid-file leaves
//! no upload behind for long: the next run to the same location aborts them first
//! ([`Store::sweep`](super::Store::sweep)). An unfinished upload is invisible, but the server
//! keeps (and bills) its parts until it is aborted.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::Url;

/// The unfinished uploads of one location. Clones share the list.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    file: Option<PathBuf>,
    list: Arc<Mutex<Vec<(String, String)>>>,
}

impl Pending {
    /// The list of `url` on the server `endpoint` (read from its file, if there is one).
    pub(crate) fn new(url: &Url, endpoint: &str) -> Pending {
        let file = crate::tree::journal::data_dir().map(|d| {
            let k = crate::tree::journal::key(&[
                endpoint.as_bytes(),
                url.host.as_bytes(),
                url.prefix.as_bytes(),
            ]);
            d.join("uploads").join(format!("{k}.tsv"))
        });
        let list = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|text| {
                text.lines()
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(k, id)| (k.to_string(), id.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Pending {
            file,
            list: Arc::new(Mutex::new(list)),
        }
    }

    /// An upload started.
    pub(crate) fn add(&self, key: &str, id: &str) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.push((key.to_string(), id.to_string()));
        self.save(&list);
    }

    /// An upload completed or aborted.
    pub(crate) fn remove(&self, key: &str, id: &str) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|(k, i)| !(k == key && i == id));
        self.save(&list);
    }

    /// Every upload recorded, the list emptied (the caller adds back those it could not abort).
    pub(crate) fn take_all(&self) -> Vec<(String, String)> {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let all = std::mem::take(&mut *list);
        self.save(&list);
        all
    }

    /// Best effort: without the file, a killed run's upload stays until the bucket's lifecycle
    /// rule (or a later `abort`) removes it — never a visible object.
    fn save(&self, list: &[(String, String)]) {
        let Some(file) = &self.file else { return };
        if list.is_empty() {
            let _ = std::fs::remove_file(file);
            return;
        }
        let text: String = list.iter().map(|(k, i)| format!("{k}\t{i}\n")).collect();
        let tmp = file.with_extension("tsv.new");
        let _ = std::fs::create_dir_all(file.parent().unwrap_or(file))
            .and_then(|()| std::fs::write(&tmp, text))
            .and_then(|()| std::fs::rename(&tmp, file));
    }
}
