# Sourced by scripts/build.sh and scripts/test.sh.
# platform: prints <os>-<arch> as the shim's NativeLoader.platform() names it, the folder of the
# native library inside the jar (META-INF/native/<os>-<arch>/).
platform() {
    local os arch
    case "$(uname -s)" in
        Linux) os=linux ;;
        Darwin) os=macos ;;
        *) os="$(uname -s | tr '[:upper:]' '[:lower:]')" ;;
    esac
    case "$(uname -m)" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) arch="$(uname -m)" ;;
    esac
    echo "$os-$arch"
}
