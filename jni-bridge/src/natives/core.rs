//! `version`, `setLogLevel`, `coreLoad`, `coreLoadText`, `coreReload`, `coreRelease`.

use super::{handle_id, handle_long};
use crate::boundary::{new_string, opt_string_arg, string_arg};
use crate::exceptions::BridgeError;
use crate::handles::Registry;
use jni::objects::{JClass, JString};
use jni::sys::{jint, jlong};
use jni::Env;
use saslgate::{Config, Core};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// A loaded configuration: the current core (swapped by `coreReload`) and where it came from.
pub(crate) struct CoreEntry {
    current: RwLock<Arc<Core>>,
    /// The file to reload from; `None` for a core loaded from text.
    path: Mutex<Option<PathBuf>>,
}

impl CoreEntry {
    /// The current core; sessions keep the `Arc` they were created with across reloads.
    pub(crate) fn core(&self) -> Arc<Core> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The live cores.
pub(crate) static CORES: Registry<CoreEntry> = Registry::new("core", 0x43);

/// The core behind handle `core`.
///
/// # Errors
/// [`BridgeError::Handle`] for an unknown or released handle.
pub(crate) fn lookup(core: jlong) -> Result<Arc<CoreEntry>, BridgeError> {
    Ok(CORES.get(handle_id(core))?)
}

/// `Native.version()`.
pub(crate) fn version<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
) -> Result<JString<'local>, BridgeError> {
    new_string(env, Some(crate::VERSION))
}

/// `Native.setLogLevel(level)`.
pub(crate) fn set_log_level<'local>(
    _env: &mut Env<'local>,
    _class: JClass<'local>,
    level: jint,
) -> Result<(), BridgeError> {
    crate::logging::set_level(level);
    Ok(())
}

/// `Native.coreLoad(configPath)`.
pub(crate) fn load<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    config_path: JString<'local>,
) -> Result<jlong, BridgeError> {
    let path = PathBuf::from(string_arg(env, &config_path, "configPath")?);
    let core = start(load_file(&path)?)?;
    insert(core, Some(path))
}

/// `Native.coreLoadText(toml, origin)`.
pub(crate) fn load_text<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    toml: JString<'local>,
    origin: JString<'local>,
) -> Result<jlong, BridgeError> {
    let text = string_arg(env, &toml, "toml")?;
    let origin = string_arg(env, &origin, "origin")?;
    let config = Config::from_toml_str(&text, &origin)?;
    insert(start(config)?, None)
}

/// `Native.coreReload(core, configPathOrNull)`.
pub(crate) fn reload<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    core: jlong,
    config_path_or_null: JString<'local>,
) -> Result<(), BridgeError> {
    let entry = lookup(core)?;
    let given = opt_string_arg(env, &config_path_or_null)?.map(PathBuf::from);
    let path = match given {
        Some(p) => p,
        None => entry
            .path
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                BridgeError::InvalidArgument(
                    "saslgate: this core was loaded from text; coreReload needs a \
                     configuration path"
                        .to_string(),
                )
            })?,
    };
    let new_core = start(load_file(&path)?)?;
    let old = std::mem::replace(
        &mut *entry.current.write().unwrap_or_else(|e| e.into_inner()),
        new_core,
    );
    *entry.path.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.clone());
    tracing::info!(config = %path.display(), "configuration reloaded");
    drop(old);
    Ok(())
}

/// `Native.coreRelease(core)`.
pub(crate) fn release<'local>(
    _env: &mut Env<'local>,
    _class: JClass<'local>,
    core: jlong,
) -> Result<(), BridgeError> {
    // Dropped here, outside the registry lock; background tasks stop once no session holds
    // the core any more.
    if let Some(entry) = CORES.remove(handle_id(core)) {
        drop(entry);
        tracing::debug!(live_cores = CORES.live(), "core handle released");
    }
    Ok(())
}

/// Loads and checks the file at `path`, logging unknown keys.
fn load_file(path: &Path) -> Result<Config, BridgeError> {
    let (config, warnings) = Config::load(path)?;
    for warning in warnings {
        tracing::warn!(config = %path.display(), "{warning}");
    }
    Ok(config)
}

/// Builds the core for `config` and starts it on the library's runtime (loads the key sets;
/// an issuer that fails is logged and retried in the background).
fn start(config: Config) -> Result<Arc<Core>, BridgeError> {
    for warning in config.danger_warnings() {
        tracing::warn!("{warning}");
    }
    let core = Core::new(Arc::new(config)).map_err(|e| match e {
        saslgate::Error::Config(e) => BridgeError::from(e),
        saslgate::Error::Acquire(e) => BridgeError::InvalidArgument(e.to_string()),
        other => BridgeError::Internal(other.to_string()),
    })?;
    let results = crate::block_on(core.start())?;
    for (issuer, result) in results {
        if let Err(e) = result {
            tracing::warn!(
                issuer = %issuer,
                error = %e,
                "issuer not loaded yet; retrying in the background"
            );
        }
    }
    Ok(core)
}

/// Registers a started core.
fn insert(core: Arc<Core>, path: Option<PathBuf>) -> Result<jlong, BridgeError> {
    let id = CORES.insert(CoreEntry {
        current: RwLock::new(core),
        path: Mutex::new(path),
    })?;
    Ok(handle_long(id))
}
