//! What happened to the blobs of a push or a promotion: counts for the outputs, rows for the
//! summary table.

use crate::plan::BlobOutcome;
use crate::source::{Blob, Descriptor};

/// Counts and rows of what happened to the blobs.
#[derive(Debug, Default, Clone)]
pub(crate) struct PushTally {
    pub(crate) rows: Vec<BlobRow>,
    pub(crate) pushed: usize,
    pub(crate) mounted: usize,
    pub(crate) skipped: usize,
    pub(crate) bytes: u64,
}

/// One row of the blob table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlobRow {
    pub(crate) digest: String,
    pub(crate) media_type: String,
    pub(crate) size: u64,
    pub(crate) outcome: BlobOutcome,
}

impl PushTally {
    pub(crate) fn add(&mut self, b: &impl BlobRef, outcome: BlobOutcome) {
        let (digest, media_type, size) = b.parts();
        match outcome {
            BlobOutcome::Uploaded => {
                self.pushed += 1;
                self.bytes += size;
            }
            BlobOutcome::Mounted => self.mounted += 1,
            BlobOutcome::Present => self.skipped += 1,
        }
        self.rows.push(BlobRow {
            digest: digest.to_owned(),
            media_type: media_type.to_owned(),
            size,
            outcome,
        });
    }

    /// Counts what happened to the blobs sent (`results` by index into `sent`, in any order),
    /// in the order of `sent`.
    pub(crate) fn record<B: BlobRef>(
        &mut self,
        sent: &[&B],
        mut results: Vec<(usize, BlobOutcome)>,
    ) {
        results.sort_by_key(|(i, _)| *i);
        for (i, outcome) in results {
            self.add(sent[i], outcome);
        }
    }

    /// The counts of a dry run: nothing sent, only what is there already counted.
    pub(crate) fn dry_run(&self) -> Self {
        Self {
            skipped: self.skipped,
            ..Self::default()
        }
    }

    /// Digests of the blobs that were there already, in order.
    pub(crate) fn present(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.outcome == BlobOutcome::Present)
            .map(|r| r.digest.clone())
            .collect()
    }
}

/// A blob as the tally sees it: one on disk ([`Blob`]) or one a registry lists ([`Descriptor`]).
pub(crate) trait BlobRef {
    /// Digest, media type, size.
    fn parts(&self) -> (&str, &str, u64);
}

impl BlobRef for Blob {
    fn parts(&self) -> (&str, &str, u64) {
        (&self.digest, &self.media_type, self.size)
    }
}

impl BlobRef for Descriptor {
    fn parts(&self) -> (&str, &str, u64) {
        (&self.digest, &self.media_type, self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: u8, size: u64) -> Descriptor {
        Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            digest: format!("sha256:{}", format!("{n:02x}").repeat(32)),
            size,
            annotations: None,
            urls: None,
        }
    }

    #[test]
    fn results_are_counted_in_the_order_sent_and_only_uploads_count_bytes() {
        let (a, b, c) = (blob(1, 10), blob(2, 20), blob(3, 30));
        let mut t = PushTally::default();
        t.add(&a, BlobOutcome::Present);
        t.record(
            &[&b, &c],
            vec![(1, BlobOutcome::Mounted), (0, BlobOutcome::Uploaded)],
        );
        let order: Vec<_> = t.rows.iter().map(|r| (r.size, r.outcome)).collect();
        assert_eq!(
            order,
            [
                (10, BlobOutcome::Present),
                (20, BlobOutcome::Uploaded),
                (30, BlobOutcome::Mounted)
            ]
        );
        assert_eq!((t.pushed, t.mounted, t.skipped, t.bytes), (1, 1, 1, 20));
        assert_eq!(t.present(), std::slice::from_ref(&a.digest));
        let d = t.dry_run();
        assert_eq!((d.pushed, d.mounted, d.skipped, d.bytes), (0, 0, 1, 0));
        assert!(d.rows.is_empty());
    }
}
