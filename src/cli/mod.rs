//! The `saslgate` command line: `serve`, `token`, `validate`, `doctor`, `check-config`, `dev`.
//!
//! TODO(daemon helper).
pub fn main() -> i32 {
    0
}
