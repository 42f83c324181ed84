//! Named object stores. `[stores]` in `cambium.toml` (or `CAMBIUM_STORE_<NAME>`) maps names
//! to URLs; [`Stores`] turns a name into a [`Location`]: an `object_store` client plus the
//! prefix the store's objects live under. Artifacts are recorded by URI
//! ([`Location::uri`]) and read back through [`resolve_uri`], which needs no configuration.
//!
//! Supported URLs:
//! - `file:///abs/path` (or a bare absolute path): a local folder, created on first use.
//! - `memory://` or `memory://name/prefix`: an in-memory store. It lives as long as the
//!   process: every `memory://name` in one process is the same store, and nothing in it
//!   survives a restart or is visible to another process (tests, dry runs).
//! - `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`: cloud stores,
//!   configured from the usual environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
//!   Each needs this crate's cargo feature (`s3`, `gcs`, `azure`); without it the store's
//!   first use fails with an error saying which feature to build with.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};

/// The name of the store every installation has; it defaults to `<home>/artifacts`.
pub const ARTIFACTS: &str = "artifacts";

/// A parsed store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `file:///abs/path`: objects are files under `root`.
    File { root: PathBuf },
    /// `memory://name/prefix`: a per-process in-memory store.
    Memory { name: String, prefix: String },
    /// `s3://bucket/prefix`
    S3 { bucket: String, prefix: String },
    /// `gs://bucket/prefix`
    Gcs { bucket: String, prefix: String },
    /// `az://container/prefix`
    Azure { container: String, prefix: String },
}

const URL_FORMS: &str =
    "use file:///abs/path, memory://, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix";

impl FromStr for StoreUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<StoreUrl> {
        let bad = |reason: String| Error::InvalidStoreUrl {
            url: s.to_string(),
            reason,
        };
        if s.starts_with('/') {
            return Ok(StoreUrl::File {
                root: PathBuf::from(s),
            });
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad(format!("expected <scheme>://…; {URL_FORMS}")))?;
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = clean_prefix(prefix).map_err(bad)?;
        let named = |what: &str| {
            if authority.is_empty() {
                Err(bad(format!("the {what} name is missing; {URL_FORMS}")))
            } else {
                Ok(authority.to_string())
            }
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if !(authority.is_empty() || authority == "localhost") {
                    return Err(bad(format!(
                        "a file URL needs three slashes and an absolute path (file:///{authority}/…)"
                    )));
                }
                let url = url::Url::parse(s).map_err(|e| bad(e.to_string()))?;
                let root = url
                    .to_file_path()
                    .map_err(|()| bad("not an absolute local path".to_string()))?;
                Ok(StoreUrl::File { root })
            }
            "memory" => Ok(StoreUrl::Memory {
                name: authority.to_string(),
                prefix,
            }),
            "s3" | "s3a" => Ok(StoreUrl::S3 {
                bucket: named("bucket")?,
                prefix,
            }),
            "gs" => Ok(StoreUrl::Gcs {
                bucket: named("bucket")?,
                prefix,
            }),
            "az" | "azure" => Ok(StoreUrl::Azure {
                container: named("container")?,
                prefix,
            }),
            other => Err(bad(format!("unknown scheme '{other}'; {URL_FORMS}"))),
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, authority, prefix) = match self {
            StoreUrl::File { root } => {
                return match url::Url::from_file_path(root) {
                    Ok(url) => f.write_str(url.as_str()),
                    Err(()) => write!(f, "file://{}", root.display()),
                }
            }
            StoreUrl::Memory { name, prefix } => ("memory", name, prefix),
            StoreUrl::S3 { bucket, prefix } => ("s3", bucket, prefix),
            StoreUrl::Gcs { bucket, prefix } => ("gs", bucket, prefix),
            StoreUrl::Azure { container, prefix } => ("az", container, prefix),
        };
        if prefix.is_empty() {
            write!(f, "{scheme}://{authority}")
        } else {
            write!(f, "{scheme}://{authority}/{prefix}")
        }
    }
}

/// Trims slashes and checks every segment is a valid object path segment.
fn clean_prefix(prefix: &str) -> Result<String, String> {
    let prefix = prefix.trim_matches('/');
    Path::parse(prefix).map_err(|e| format!("prefix '{prefix}': {e}"))?;
    Ok(prefix.to_string())
}

/// Every `memory://name` in this process, so a URI written by one task reads back in another.
fn memory_store(name: &str) -> Arc<InMemory> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    let mut stores = STORES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    stores
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(InMemory::new()))
        .clone()
}

impl StoreUrl {
    /// The client for this URL and the prefix its objects live under. File stores are
    /// rooted at their folder (created here) and so have an empty prefix.
    fn connect(&self) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let url = self.to_string();
        let prefix = match self {
            StoreUrl::File { .. } => "",
            StoreUrl::Memory { prefix, .. }
            | StoreUrl::S3 { prefix, .. }
            | StoreUrl::Gcs { prefix, .. }
            | StoreUrl::Azure { prefix, .. } => prefix,
        };
        let prefix = Path::parse(prefix).map_err(|e| Error::InvalidStoreUrl {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let store: Arc<dyn ObjectStore> = match self {
            StoreUrl::File { root } => {
                std::fs::create_dir_all(root).map_err(|source| Error::Io {
                    action: "create the store folder",
                    path: root.clone(),
                    source,
                })?;
                let fs = LocalFileSystem::new_with_prefix(root).map_err(|source| Error::Store {
                    action: "opening",
                    uri: url.clone(),
                    source,
                })?;
                Arc::new(fs)
            }
            StoreUrl::Memory { name, .. } => memory_store(name),
            StoreUrl::S3 { bucket, .. } => cloud::s3(&url, bucket)?,
            StoreUrl::Gcs { bucket, .. } => cloud::gcs(&url, bucket)?,
            StoreUrl::Azure { container, .. } => cloud::azure(&url, container)?,
        };
        Ok((store, prefix))
    }

    /// The URI of an object at `path` (a path inside the store, prefix included).
    fn uri_of(&self, path: &Path) -> String {
        let (scheme, authority) = match self {
            StoreUrl::File { root } => {
                let file = root.join(path.as_ref());
                return match url::Url::from_file_path(&file) {
                    Ok(url) => url.to_string(),
                    Err(()) => format!("file://{}", file.display()),
                };
            }
            StoreUrl::Memory { name, .. } => ("memory", name),
            StoreUrl::S3 { bucket, .. } => ("s3", bucket),
            StoreUrl::Gcs { bucket, .. } => ("gs", bucket),
            StoreUrl::Azure { container, .. } => ("az", container),
        };
        format!("{scheme}://{authority}/{path}")
    }
}

/// Clients for cloud stores, each behind its cargo feature.
mod cloud {
    use super::*;

    #[cfg(not(all(feature = "s3", feature = "gcs", feature = "azure")))]
    fn missing(url: &str, kind: &'static str, feature: &'static str) -> Error {
        Error::MissingFeature {
            url: url.to_string(),
            kind,
            feature,
        }
    }

    #[cfg(feature = "s3")]
    pub fn s3(url: &str, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|source| Error::Store {
                action: "configuring",
                uri: url.to_string(),
                source,
            })?;
        Ok(Arc::new(store))
    }
    #[cfg(not(feature = "s3"))]
    pub fn s3(url: &str, _bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        Err(missing(url, "S3", "s3"))
    }

    #[cfg(feature = "gcs")]
    pub fn gcs(url: &str, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        let store = object_store::gcp::GoogleCloudStorageBuilder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|source| Error::Store {
                action: "configuring",
                uri: url.to_string(),
                source,
            })?;
        Ok(Arc::new(store))
    }
    #[cfg(not(feature = "gcs"))]
    pub fn gcs(url: &str, _bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        Err(missing(url, "Google Cloud Storage", "gcs"))
    }

    #[cfg(feature = "azure")]
    pub fn azure(url: &str, container: &str) -> Result<Arc<dyn ObjectStore>> {
        let store = object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_container_name(container)
            .build()
            .map_err(|source| Error::Store {
                action: "configuring",
                uri: url.to_string(),
                source,
            })?;
        Ok(Arc::new(store))
    }
    #[cfg(not(feature = "azure"))]
    pub fn azure(url: &str, _container: &str) -> Result<Arc<dyn ObjectStore>> {
        Err(missing(url, "Azure Blob Storage", "azure"))
    }
}

/// An object's metadata as listings and sensors report it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectInfo {
    /// The key relative to the store's prefix (what a DAG file names).
    pub key: String,
    /// The object's full URI.
    pub uri: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: DateTime<Utc>,
}

/// A store, ready to use: its client, the prefix its objects live under, and its URL.
#[derive(Debug, Clone)]
pub struct Location {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: Path,
    pub url: StoreUrl,
}

impl Location {
    /// Connects to a store URL (creating a file store's folder).
    pub fn open(url: StoreUrl) -> Result<Location> {
        let (store, prefix) = url.connect()?;
        Ok(Location { store, prefix, url })
    }

    /// The in-store path of `key`; keys are `/`-separated, without `.` or `..` segments.
    pub fn path(&self, key: &str) -> Result<Path> {
        let rel = Path::parse(key.trim_start_matches('/')).map_err(|e| Error::InvalidKey {
            key: key.to_string(),
            reason: e.to_string(),
        })?;
        Ok(self.join(&rel))
    }

    fn join(&self, rel: &Path) -> Path {
        let mut parts: Vec<_> = self.prefix.parts().collect();
        parts.extend(rel.parts());
        Path::from_iter(parts)
    }

    /// The URI of `key` in this store, e.g. `file:///home/x/artifacts/a/b.parquet` or
    /// `s3://bucket/prefix/a/b.parquet`. [`resolve_uri`] turns it back into an object.
    pub fn uri(&self, key: &str) -> String {
        let path = self
            .path(key)
            .unwrap_or_else(|_| self.join(&Path::from(key.trim_start_matches('/'))));
        self.url.uri_of(&path)
    }

    /// The key of an in-store path relative to this location's prefix.
    fn key_of(&self, path: &Path) -> String {
        match path.prefix_match(&self.prefix) {
            Some(rest) => rest
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/"),
            None => path.to_string(),
        }
    }

    fn info(&self, meta: ObjectMeta) -> ObjectInfo {
        ObjectInfo {
            key: self.key_of(&meta.location),
            uri: self.url.uri_of(&meta.location),
            size: meta.size,
            etag: meta.e_tag,
            last_modified: meta.last_modified,
        }
    }

    /// Objects whose keys start with the folder `prefix` (`""` for all) and, when given,
    /// match the glob `pattern` (matched against the whole key: `*` stays within one
    /// folder, `**` crosses folders, `{a,b}` and `[0-9]` work). Sorted by key.
    pub async fn list(&self, prefix: &str, pattern: Option<&str>) -> Result<Vec<ObjectInfo>> {
        let matcher = pattern.map(compile_glob).transpose()?;
        let under = self.path(prefix)?;
        let base = self.uri(prefix);
        let metas: Vec<ObjectMeta> =
            self.store
                .list(Some(&under))
                .try_collect()
                .await
                .map_err(|source| Error::Store {
                    action: "listing",
                    uri: base,
                    source,
                })?;
        let mut out: Vec<ObjectInfo> = metas
            .into_iter()
            .map(|m| self.info(m))
            .filter(|info| matcher.as_ref().is_none_or(|m| m.is_match(&info.key)))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Objects matching a glob over the whole key, e.g. `incoming/*.csv`; lists only under
    /// the pattern's literal folder.
    pub async fn glob(&self, pattern: &str) -> Result<Vec<ObjectInfo>> {
        self.list(literal_folder(pattern), Some(pattern)).await
    }

    /// The object's metadata, or `None` when there is no object at `key` (sensors).
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(self.info(meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(Error::Store {
                action: "reading the metadata of",
                uri: self.uri(key),
                source,
            }),
        }
    }

    /// Writes a small object in one request (reports, schemas, model files); returns its URI.
    pub async fn put_bytes(&self, key: &str, data: Bytes) -> Result<String> {
        let path = self.path(key)?;
        let uri = self.uri(key);
        self.store
            .put(&path, PutPayload::from(data))
            .await
            .map_err(|source| Error::Store {
                action: "writing",
                uri: uri.clone(),
                source,
            })?;
        Ok(uri)
    }

    /// Reads a whole (small) object.
    pub async fn get_bytes(&self, key: &str) -> Result<Bytes> {
        let path = self.path(key)?;
        get_bytes(&self.store, &path, &self.uri(key)).await
    }
}

pub(crate) async fn get_bytes(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    uri: &str,
) -> Result<Bytes> {
    let result = store
        .get(path)
        .await
        .map_err(|e| store_error("reading", uri, e))?;
    result
        .bytes()
        .await
        .map_err(|e| store_error("reading", uri, e))
}

/// A store error, with "not found" as its own variant.
pub(crate) fn store_error(action: &'static str, uri: &str, source: object_store::Error) -> Error {
    match source {
        object_store::Error::NotFound { .. } => Error::NotFound {
            uri: uri.to_string(),
        },
        source => Error::Store {
            action,
            uri: uri.to_string(),
            source,
        },
    }
}

fn compile_glob(pattern: &str) -> Result<globset::GlobMatcher> {
    let glob = globset::GlobBuilder::new(pattern.trim_start_matches('/'))
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| Error::InvalidPattern {
            pattern: pattern.to_string(),
            reason: e.kind().to_string(),
        })?;
    Ok(glob.compile_matcher())
}

/// The folder part of a glob before its first wildcard: `a/b/*.csv` → `a/b`.
fn literal_folder(pattern: &str) -> &str {
    let pattern = pattern.trim_start_matches('/');
    let wild = pattern
        .find(['*', '?', '[', '{', '\\'])
        .unwrap_or(pattern.len());
    match pattern[..wild].rfind('/') {
        Some(slash) => &pattern[..slash],
        None => "",
    }
}

/// Turns an artifact URI (as [`Location::uri`] wrote it) back into a store client and the
/// object's path in it. Needs no `[stores]` entry: file URIs open the local file, memory
/// URIs this process's memory store, cloud URIs a client configured from the environment.
pub fn resolve_uri(uri: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let bad = |reason: String| Error::InvalidStoreUrl {
        url: uri.to_string(),
        reason,
    };
    let scheme = uri.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if scheme.as_deref() == Some("file") || uri.starts_with('/') {
        let file = if uri.starts_with('/') {
            PathBuf::from(uri)
        } else {
            url::Url::parse(uri)
                .map_err(|e| bad(e.to_string()))?
                .to_file_path()
                .map_err(|()| bad("not an absolute local path".to_string()))?
        };
        let path = Path::from_absolute_path(&file).map_err(|e| bad(e.to_string()))?;
        return Ok((Arc::new(LocalFileSystem::new()), path));
    }
    // For the other kinds, the part after the bucket is the object's whole path: open the
    // store with no prefix.
    let url: StoreUrl = uri.parse()?;
    let (whole, key) = match url {
        StoreUrl::File { .. } => {
            return Err(bad("file URIs are resolved as local paths".to_string()))
        }
        StoreUrl::Memory { name, prefix } => (
            StoreUrl::Memory {
                name,
                prefix: String::new(),
            },
            prefix,
        ),
        StoreUrl::S3 { bucket, prefix } => (
            StoreUrl::S3 {
                bucket,
                prefix: String::new(),
            },
            prefix,
        ),
        StoreUrl::Gcs { bucket, prefix } => (
            StoreUrl::Gcs {
                bucket,
                prefix: String::new(),
            },
            prefix,
        ),
        StoreUrl::Azure { container, prefix } => (
            StoreUrl::Azure {
                container,
                prefix: String::new(),
            },
            prefix,
        ),
    };
    if key.is_empty() {
        return Err(bad("the URI names a store but no object in it".to_string()));
    }
    let (store, _) = whole.connect()?;
    let path = Path::parse(&key).map_err(|e| bad(e.to_string()))?;
    Ok((store, path))
}

/// The configured stores, by name. Clients are made on first use and then reused.
#[derive(Debug)]
pub struct Stores {
    urls: BTreeMap<String, StoreUrl>,
    open: Mutex<BTreeMap<String, Location>>,
}

impl Stores {
    /// Stores from `[stores]` (name → URL, environment already applied); `artifacts`
    /// defaults to `file://<default_artifacts_dir>`. Every invalid URL is reported at once.
    /// Cloud stores built without their feature fail on first use, not here, so an
    /// installation can keep an `s3://` entry it does not use.
    pub fn new(named: BTreeMap<String, String>, default_artifacts_dir: PathBuf) -> Result<Stores> {
        let mut urls = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, url) in named {
            match url.parse::<StoreUrl>() {
                Ok(parsed) => {
                    urls.insert(name, parsed);
                }
                Err(Error::InvalidStoreUrl { url, reason }) => {
                    errors.push(Error::InvalidStoreUrl {
                        url,
                        reason: format!("{reason} (store '{name}')"),
                    })
                }
                Err(other) => errors.push(other),
            }
        }
        if !default_artifacts_dir.is_absolute() {
            errors.push(Error::InvalidStoreUrl {
                url: default_artifacts_dir.display().to_string(),
                reason: "the default artifacts folder must be an absolute path".to_string(),
            });
        }
        if !errors.is_empty() {
            return Err(if errors.len() == 1 {
                errors.remove(0)
            } else {
                Error::InvalidStores(errors)
            });
        }
        urls.entry(ARTIFACTS.to_string()).or_insert(StoreUrl::File {
            root: default_artifacts_dir,
        });
        Ok(Stores {
            urls,
            open: Mutex::new(BTreeMap::new()),
        })
    }

    /// The configured names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.urls.keys().map(String::as_str)
    }

    /// The URL a name stands for.
    pub fn url(&self, name: &str) -> Option<&StoreUrl> {
        self.urls.get(name)
    }

    /// The store named `name`; an unknown name's error lists the known ones.
    pub fn get(&self, name: &str) -> Result<Location> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(location) = open.get(name) {
            return Ok(location.clone());
        }
        let url = self.urls.get(name).ok_or_else(|| Error::UnknownStore {
            name: name.to_string(),
            known: self.urls.keys().cloned().collect(),
        })?;
        let location = Location::open(url.clone())?;
        open.insert(name.to_string(), location.clone());
        Ok(location)
    }

    /// The `artifacts` store, where operators write their outputs.
    pub fn artifacts(&self) -> Result<Location> {
        self.get(ARTIFACTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_prints_it_back() {
        for (text, expected) in [
            (
                "file:///tmp/a%20b",
                StoreUrl::File {
                    root: "/tmp/a b".into(),
                },
            ),
            (
                "/srv/data/",
                StoreUrl::File {
                    root: "/srv/data/".into(),
                },
            ),
            (
                "memory://",
                StoreUrl::Memory {
                    name: "".into(),
                    prefix: "".into(),
                },
            ),
            (
                "memory://t/x/",
                StoreUrl::Memory {
                    name: "t".into(),
                    prefix: "x".into(),
                },
            ),
            (
                "s3://bkt/a/b",
                StoreUrl::S3 {
                    bucket: "bkt".into(),
                    prefix: "a/b".into(),
                },
            ),
            (
                "gs://bkt",
                StoreUrl::Gcs {
                    bucket: "bkt".into(),
                    prefix: "".into(),
                },
            ),
            (
                "az://c/p",
                StoreUrl::Azure {
                    container: "c".into(),
                    prefix: "p".into(),
                },
            ),
        ] {
            let parsed: StoreUrl = text.parse().unwrap();
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string().parse::<StoreUrl>().unwrap(), expected);
        }
        assert_eq!(
            StoreUrl::File {
                root: "/tmp/a b".into()
            }
            .to_string(),
            "file:///tmp/a%20b"
        );
    }

    #[test]
    fn bad_urls_say_what_to_write() {
        for (text, needle) in [
            ("file://relative/x", "three slashes"),
            ("ftp://x", "unknown scheme 'ftp'"),
            ("s3://", "bucket name is missing"),
            ("just-a-name", "expected <scheme>://"),
            ("s3://b/a/../c", "prefix"),
        ] {
            let err = text.parse::<StoreUrl>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn cloud_stores_without_their_feature_say_how_to_rebuild() {
        let stores = Stores::new(
            [("lake".to_string(), "s3://bucket/prefix".to_string())].into(),
            "/tmp/cambium-test-artifacts".into(),
        )
        .unwrap();
        if cfg!(not(feature = "s3")) {
            let err = stores.get("lake").unwrap_err().to_string();
            assert!(
                err.contains("built without S3 support; rebuild with --features s3"),
                "{err}"
            );
        }
        if cfg!(not(feature = "gcs")) {
            let err = Location::open("gs://b".parse().unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains("--features gcs"), "{err}");
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones_and_how_to_add_one() {
        let stores = Stores::new(
            [("raw".to_string(), "memory://raw".to_string())].into(),
            "/tmp/cambium-test-artifacts".into(),
        )
        .unwrap();
        let err = stores.get("lake").unwrap_err().to_string();
        assert!(err.contains("known stores: artifacts, raw"), "{err}");
        assert!(err.contains("[stores] in cambium.toml"), "{err}");
        assert!(err.contains("CAMBIUM_STORE_LAKE"), "{err}");
    }

    #[test]
    fn every_bad_store_is_reported_at_once() {
        let err = Stores::new(
            [
                ("a".to_string(), "ftp://x".to_string()),
                ("b".to_string(), "nope".to_string()),
            ]
            .into(),
            "/tmp/x".into(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("store 'a'") && err.contains("store 'b'"),
            "{err}"
        );
    }

    #[test]
    fn literal_folder_of_globs() {
        assert_eq!(literal_folder("a/b/*.csv"), "a/b");
        assert_eq!(literal_folder("*.csv"), "");
        assert_eq!(literal_folder("a/x{1,2}/y"), "a");
        assert_eq!(literal_folder("a/b/c.csv"), "a/b");
    }

    #[tokio::test]
    async fn file_store_lists_and_resolves_uris() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("art ifacts");
        let stores = Stores::new(BTreeMap::new(), root.clone()).unwrap();
        let loc = stores.artifacts().unwrap();
        for key in [
            "in/a.csv",
            "in/b.csv",
            "in/sub/c.csv",
            "in/d.json",
            "other/e.csv",
        ] {
            loc.put_bytes(key, Bytes::from_static(b"x,y\n1,2\n"))
                .await
                .unwrap();
        }
        let uri = loc.uri("in/a.csv");
        assert_eq!(
            uri,
            url::Url::from_file_path(root.join("in/a.csv"))
                .unwrap()
                .to_string()
        );
        assert!(uri.contains("art%20ifacts"), "{uri}");

        let keys = |v: Vec<ObjectInfo>| v.into_iter().map(|o| o.key).collect::<Vec<_>>();
        assert_eq!(
            keys(loc.glob("in/*.csv").await.unwrap()),
            ["in/a.csv", "in/b.csv"]
        );
        assert_eq!(
            keys(loc.glob("in/**/*.csv").await.unwrap()),
            ["in/a.csv", "in/b.csv", "in/sub/c.csv"]
        );
        assert_eq!(keys(loc.list("in", None).await.unwrap()).len(), 4);
        assert!(loc.list("missing", None).await.unwrap().is_empty());
        let info = loc.head("in/a.csv").await.unwrap().unwrap();
        assert_eq!(info.size, 8);
        assert_eq!(info.uri, uri);
        assert!(loc.head("in/zzz.csv").await.unwrap().is_none());

        let (store, path) = resolve_uri(&uri).unwrap();
        let bytes = get_bytes(&store, &path, &uri).await.unwrap();
        assert_eq!(&bytes[..], b"x,y\n1,2\n");
        assert!(matches!(
            loc.path("a/../b").unwrap_err(),
            Error::InvalidKey { .. }
        ));
    }

    #[tokio::test]
    async fn memory_stores_are_shared_within_the_process() {
        let loc = Location::open("memory://shared-test/pre".parse().unwrap()).unwrap();
        let uri = loc
            .put_bytes("k/v.txt", Bytes::from_static(b"hi"))
            .await
            .unwrap();
        assert_eq!(uri, "memory://shared-test/pre/k/v.txt");
        let (store, path) = resolve_uri(&uri).unwrap();
        assert_eq!(&get_bytes(&store, &path, &uri).await.unwrap()[..], b"hi");
        let other = Location::open("memory://shared-test".parse().unwrap()).unwrap();
        assert_eq!(other.list("", None).await.unwrap()[0].key, "pre/k/v.txt");
        assert!(matches!(
            get_bytes(&store, &Path::from("nope"), "memory://shared-test/nope").await,
            Err(Error::NotFound { .. })
        ));
    }
}
