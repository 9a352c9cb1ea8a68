# Shared steps of scripts/up and scripts/test. Source it; do not run it.

# Installs the wasm32-wasip2 target when rustup lacks it. rust-toolchain.toml
# lists it, but rustup adds listed targets only when it installs the
# toolchain itself.
ensure_wasm_target() {
    if ! rustup target list --installed | grep -qx wasm32-wasip2; then
        echo "Installing the Rust target wasm32-wasip2"
        rustup target add wasm32-wasip2
    fi
}

# Installs redis-server from the OS packages when it is missing.
ensure_redis_server() {
    if command -v redis-server >/dev/null 2>&1; then
        return
    fi
    echo "Installing redis-server from the OS packages"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    if command -v apt-get >/dev/null 2>&1; then
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
    elif command -v dnf >/dev/null 2>&1; then
        $sudo dnf install -y redis
    elif command -v brew >/dev/null 2>&1; then
        brew install redis
    else
        echo "error: redis-server is missing and no known package manager was found; install Redis and retry" >&2
        return 1
    fi
}

# Builds the host and the operator command line (native, release) and the
# three components (wasm32-wasip2, release), the files spin.toml and the
# tests use.
build_all() {
    cargo build --release --locked -p stowage-host -p stowage-admin
    cargo build --release --locked --target wasm32-wasip2 \
        -p stowage-auth -p stowage-files -p stowage-processor
}

# Succeeds when a Redis server replies to PING at host $1, port $2.
redis_answers() {
    local host=$1 port=$2 reply
    # bash's /dev/tcp needs no client program. The braces send bash's own
    # "connection refused" message to /dev/null too.
    if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
        return 1
    fi
    printf 'PING\r\n' >&3
    read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ $reply == +PONG* ]]
}

# The schemathesis release the OpenAPI conformance test runs, pinned so
# that a new release cannot change what the test checks.
SCHEMATHESIS_VERSION=4.32.5

# Installs schemathesis from PyPI with pip when the pinned version is
# missing, and puts pip's script folder on PATH for the tests.
ensure_schemathesis() {
    local user_bin
    user_bin="$(python3 -m site --user-base 2>/dev/null)/bin"
    case ":$PATH:" in
        *":$user_bin:"*) ;;
        *) export PATH="$PATH:$user_bin" ;;
    esac
    if python3 -m pip show schemathesis 2>/dev/null | grep -qx "Version: $SCHEMATHESIS_VERSION" \
        && command -v schemathesis >/dev/null 2>&1; then
        return
    fi
    echo "Installing schemathesis $SCHEMATHESIS_VERSION with pip"
    python3 -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
}
