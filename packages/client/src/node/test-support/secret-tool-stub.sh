#!/bin/sh
# A stand-in for libsecret's `secret-tool` (store / lookup / clear with attribute pairs; the secret on
# stdin), keeping each secret in a file of $STUB_KEYRING_DIR named by its attributes. With
# STUB_KEYRING_FAIL=1 every call fails, as secret-tool does without a D-Bus session.
[ "$STUB_KEYRING_FAIL" = 1 ] && { echo "Cannot autolaunch D-Bus without X11 \$DISPLAY" >&2; exit 1; }
cmd=$1; shift
[ "$cmd" = store ] && shift # --label=...
name=$(printf '%s\n' "$@" | sha256sum | cut -c1-32)
file="$STUB_KEYRING_DIR/$name"
case "$cmd" in
  store) cat > "$file" ;;
  lookup) [ -f "$file" ] && cat "$file" || exit 1 ;;
  clear) rm -f "$file" ;;
  *) exit 2 ;;
esac
