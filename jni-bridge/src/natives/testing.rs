//! The testing natives (feature `testing`): a deliberate panic, one error of each kind, and the
//! live handle counts for leak tests.

use crate::exceptions::BridgeError;
use crate::handles::HandleError;
use jni::objects::{JClass, JLongArray};
use jni::sys::{jint, jlong};
use jni::Env;

/// `Native.testingPanic()`: panics; Java must see `IllegalStateException`.
pub(crate) fn panic<'local>(
    _env: &mut Env<'local>,
    _class: JClass<'local>,
) -> Result<(), BridgeError> {
    panic!("testingPanic: a deliberate panic at the JNI boundary");
}

/// `Native.testingThrow(kind)`: 0 config error, 1 unknown handle, 2 login, 3 internal, 4 null
/// pointer; any other kind returns normally.
pub(crate) fn throw<'local>(
    _env: &mut Env<'local>,
    _class: JClass<'local>,
    kind: jint,
) -> Result<(), BridgeError> {
    Err(match kind {
        0 => BridgeError::InvalidArgument(
            "<testing>: issuers[0].issuer: testing config error".into(),
        ),
        1 => HandleError::Unknown { kind: "core" }.into(),
        2 => BridgeError::Login("testing login failure".into()),
        3 => BridgeError::Internal("testing internal failure".into()),
        4 => BridgeError::Null("testing"),
        _ => return Ok(()),
    })
}

/// `Native.testingLiveHandles()`: `{cores, server sessions}`.
pub(crate) fn live_handles<'local>(
    env: &mut Env<'local>,
    _class: JClass<'local>,
) -> Result<JLongArray<'local>, BridgeError> {
    let counts = [
        super::core::CORES.live() as jlong,
        super::server::SERVERS.live() as jlong,
    ];
    let array = JLongArray::new(env, counts.len())?;
    array.set_region(env, 0, &counts)?;
    Ok(array)
}
