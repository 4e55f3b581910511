//! `serverCreate`, `serverStep`, the outcome accessors and `serverDispose`.
//!
//! A session may be used from several Java threads, but its steps are serialized by the
//! entry's mutex (held across the step, including a blocking validation).

use super::{handle_id, handle_long};
use crate::boundary::{bytes_arg, new_bytes, new_string, new_string_array, string_arg};
use crate::exceptions::BridgeError;
use crate::handles::Registry;
use jni::objects::{JByteArray, JClass, JObjectArray, JString};
use jni::sys::{jint, jlong};
use jni::Env;
use saslgate::sasl::{Authenticated, SaslError};
use saslgate::{Rejection, ServerSession};
use std::sync::{Arc, Mutex, MutexGuard};

/// `serverState`: more input expected.
const STATE_RUNNING: jint = 0;
/// `serverState`: the exchange succeeded.
const STATE_SUCCESS: jint = 1;
/// `serverState`: the exchange failed (rejection or internal error).
const STATE_FAILURE: jint = 2;

/// One server session.
pub(crate) struct ServerEntry {
    inner: Mutex<Slot>,
}

/// The session and, after an internal error ended it, that error's message.
struct Slot {
    session: ServerSession,
    internal_error: Option<String>,
}

impl ServerEntry {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic during a step leaves the session aborted (fail closed), so a poisoned lock
        // is taken over.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How a session stands, as the accessors report it.
enum Outcome<'a> {
    Running,
    Success(&'a Authenticated),
    Rejected(&'a Rejection),
    Internal(&'a str),
}

impl Slot {
    fn outcome(&self) -> Outcome<'_> {
        match self.session.outcome() {
            Some(Ok(a)) => Outcome::Success(a),
            Some(Err(r)) => Outcome::Rejected(r),
            None if self.session.is_complete() => Outcome::Internal(
                self.internal_error
                    .as_deref()
                    .unwrap_or("the exchange ended with an internal error"),
            ),
            None => Outcome::Running,
        }
    }
}

/// The live server sessions.
pub(crate) static SERVERS: Registry<ServerEntry> = Registry::new("server session", 0x53);

fn lookup(session: jlong) -> Result<Arc<ServerEntry>, BridgeError> {
    Ok(SERVERS.get(handle_id(session))?)
}

/// `Native.serverCreate(core, service, serverName)`.
pub(crate) fn create<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    core: jlong,
    service: JString<'local>,
    server_name: JString<'local>,
) -> Result<jlong, BridgeError> {
    let entry = super::core::lookup(core)?;
    let service = string_arg(env, &service, "service")?;
    let server_name = string_arg(env, &server_name, "serverName")?;
    let session = ServerSession::new(entry.core(), &service, &server_name)?;
    let id = SERVERS.insert(ServerEntry {
        inner: Mutex::new(Slot {
            session,
            internal_error: None,
        }),
    })?;
    Ok(handle_long(id))
}

/// `Native.serverStep(session, response)`.
pub(crate) fn step<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
    response: JByteArray<'local>,
) -> Result<JByteArray<'local>, BridgeError> {
    let entry = lookup(session)?;
    let input = bytes_arg(env, &response, "response")?;
    let mut slot = entry.lock();
    let result = crate::block_on(slot.session.step(&input))?;
    match result {
        Ok(step) => new_bytes(env, &step.challenge),
        Err(e) => {
            if let SaslError::Internal(message) = &e {
                slot.internal_error = Some(message.clone());
            }
            Err(e.into())
        }
    }
}

/// `Native.serverState(session)`.
pub(crate) fn state<'local>(
    _env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
) -> Result<jint, BridgeError> {
    let entry = lookup(session)?;
    let slot = entry.lock();
    Ok(match slot.outcome() {
        Outcome::Running => STATE_RUNNING,
        Outcome::Success(_) => STATE_SUCCESS,
        Outcome::Rejected(_) | Outcome::Internal(_) => STATE_FAILURE,
    })
}

/// `Native.serverAuthorizationId(session)`.
pub(crate) fn authorization_id<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
) -> Result<JString<'local>, BridgeError> {
    let entry = lookup(session)?;
    let slot = entry.lock();
    match slot.outcome() {
        Outcome::Success(a) => new_string(env, Some(&a.authorization_id)),
        _ => new_string(env, None),
    }
}

/// `Native.serverGroups(session)`.
pub(crate) fn groups<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
) -> Result<JObjectArray<'local, JString<'local>>, BridgeError> {
    let entry = lookup(session)?;
    let slot = entry.lock();
    match slot.outcome() {
        Outcome::Success(a) => new_string_array(env, &a.principal.groups),
        _ => Ok(JObjectArray::default()),
    }
}

/// `Native.serverExpiresAtSecs(session)`.
pub(crate) fn expires_at_secs<'local>(
    _env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
) -> Result<jlong, BridgeError> {
    let entry = lookup(session)?;
    let slot = entry.lock();
    Ok(match slot.outcome() {
        Outcome::Success(a) => jlong::try_from(a.token.expires_at).unwrap_or(jlong::MAX),
        _ => -1,
    })
}

/// `Native.serverFailureReason(session)`: the rejection's name, or `internal`.
pub(crate) fn failure_reason<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
) -> Result<JString<'local>, BridgeError> {
    let entry = lookup(session)?;
    let slot = entry.lock();
    match slot.outcome() {
        Outcome::Rejected(r) => new_string(env, Some(r.as_str())),
        Outcome::Internal(_) => new_string(env, Some("internal")),
        _ => new_string(env, None),
    }
}

/// `Native.serverFailureMessage(session)`.
pub(crate) fn failure_message<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
) -> Result<JString<'local>, BridgeError> {
    let entry = lookup(session)?;
    let slot = entry.lock();
    match slot.outcome() {
        Outcome::Rejected(r) => new_string(env, Some(&r.to_string())),
        Outcome::Internal(m) => new_string(env, Some(m)),
        _ => new_string(env, None),
    }
}

/// `Native.serverDispose(session)`: idempotent, 0 ignored.
pub(crate) fn dispose<'local>(
    _env: &mut Env<'local>,
    _class: JClass<'local>,
    session: jlong,
) -> Result<(), BridgeError> {
    drop(SERVERS.remove(handle_id(session)));
    Ok(())
}
