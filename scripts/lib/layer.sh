# shellcheck shell=sh
# Helpers shared by scripts/build_layer.sh, scripts/publish_layer.sh and spec/layer (sourced, POSIX sh).

# The step counter and messages of the build: "layer: [3/9] ...", "layer: error: ...". All on stderr: they are
# progress, and stdout stays free for what a caller asks for (make invoke's response, publish_layer.sh's ARN).
layer_me=${layer_me:-layer}
layer_step_no=0
layer_steps=${layer_steps:-?}
say() { printf '%s: %s\n' "$layer_me" "$*" >&2; }
step() {
    layer_step_no=$((layer_step_no + 1))
    printf '%s: [%s/%s] %s\n' "$layer_me" "$layer_step_no" "$layer_steps" "$*" >&2
}
die() {
    printf '%s: error: %s\n' "$layer_me" "$*" >&2
    exit 1
}
need_tool() { # need_tool NAME WHY
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"
}

# Sizes. du -sb counts apparent bytes (what Lambda counts when it unzips), symlinks as their own length.
bytes_of() { du -sb "$1" | cut -f1; }
human() { # human BYTES -> "12.3 MiB (12,912,345 bytes)"
    awk -v b="$1" 'BEGIN {
        u = "B"; v = b
        if (b >= 1048576) { u = "MiB"; v = b / 1048576 } else if (b >= 1024) { u = "KiB"; v = b / 1024 }
        s = sprintf("%d", b); t = ""
        while (length(s) > 3) { t = "," substr(s, length(s) - 2) t; s = substr(s, 1, length(s) - 3) }
        if (u == "B") printf "%s bytes", s t; else printf "%.1f %s (%s bytes)", v, u, s t
    }'
}

# ELF helpers (binutils objdump: works for foreign architectures too).
is_elf() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
elf_needed() { objdump -p "$1" 2>/dev/null | awk '$1 == "NEEDED" { print $2 }'; }
elf_machine() { objdump -f "$1" 2>/dev/null | sed -n 's/^architecture: \([^,]*\),.*/\1/p'; }
# The newest GLIBC_x.y symbol version FILE needs (empty when none).
elf_glibc_max() {
    objdump -T "$1" 2>/dev/null | awk '/\*UND\*/' | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
        sort -u -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}
# version_gt A B: A > B for dotted versions.
version_gt() {
    [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)" = "$1" ]
}
# Shared libraries every provided.al2023 image has (glibc itself): never bundled.
is_system_lib() {
    case $1 in
        libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | libutil.so.* | libresolv.so.* | \
            ld-linux*.so.* | libgcc_s.so.* | libanl.so.* | libnsl.so.* | libcrypt.so.*) return 0 ;;
    esac
    return 1
}

# The first line of a bootstrap file, split: shebang_interpreter FILE, shebang_args FILE.
shebang_interpreter() { head -n 1 "$1" | sed -n 's/^#![[:space:]]*\([^[:space:]]*\).*/\1/p'; }
shebang_args() { head -n 1 "$1" | sed -n 's/^#![[:space:]]*[^[:space:]]*[[:space:]]*//p'; }
# The --source release of a bootstrap (e.g. 21).
shebang_release() { shebang_args "$1" | sed -n 's/^--source[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p'; }

# zip_tree DIR ZIP EPOCH: a reproducible zip of DIR's contents (no top directory): every entry's mtime set
# to EPOCH, entries in byte order, no extra fields (-X: no uid/gid, no extended timestamps), symlinks stored
# as links (-y), Unix modes kept. zip writes DOS times in local time, so TZ is pinned to UTC.
zip_tree() {
    _zt_dir=$1 _zt_zip=$2 _zt_epoch=$3
    _zt_stamp=$(TZ=UTC date -d "@$_zt_epoch" +%Y%m%d%H%M.%S) || die "bad SOURCE_DATE_EPOCH '$_zt_epoch'"
    find "$_zt_dir" -exec touch -h -t "$_zt_stamp" {} +
    rm -f "$_zt_zip"
    (cd "$_zt_dir" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
        TZ=UTC zip -q -X -y -9 -@ "$_zt_zip") || die "zip failed for $_zt_dir"
}

# check_links DIR: every symbolic link under DIR is relative and resolves to something inside DIR, so the
# tree works wherever it is unpacked (Lambda: /opt). Dies naming the first bad link.
check_links() {
    _cl_top=$(cd "$1" && pwd -P) || die "$1: no such directory"
    for _cl in $(find "$1" -type l | LC_ALL=C sort); do
        _cl_rel=${_cl#"$1"/}
        _cl_t=$(readlink "$_cl")
        case $_cl_t in /*) die "$_cl_rel -> $_cl_t is absolute: it would not resolve under /opt" ;; esac
        # -m: the escape is judged on the path itself, whether or not its target exists on this machine.
        _cl_res=$(cd "$(dirname "$_cl")" && realpath -m -- "$_cl_t")
        case $_cl_res/ in
            "$_cl_top"/*) ;;
            *) die "$_cl_rel -> $_cl_t points outside the layer" ;;
        esac
        [ -e "$_cl" ] || die "$_cl_rel -> $_cl_t does not resolve"
    done
}
