# Sourced by scripts/test-in-debian.sh and scripts/cuda-compile-check.sh (needs say and die).
# claim_chroot ROOT: one run per chroot at a time. The lock is a flock on ROOT.lock, held on fd 9
# until the process exits, so a run killed with SIGKILL frees it too. Mounts left under ROOT by
# such a run (proc, sys, dev, tmp: its cleanup trap never ran) are stale once the lock is free:
# they are taken down here instead of stopping every later run with "in use".
claim_chroot() {
  local root="$1" stale i
  mkdir -p "$(dirname "$root")"
  exec 9>"$root.lock"
  flock -n 9 || die "$root is in use by another run (it holds $root.lock)"
  mapfile -t stale < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts)
  if (( ${#stale[@]} )); then
    say "taking down ${#stale[@]} mount(s) left in $root by a run that was killed"
    for (( i = ${#stale[@]} - 1; i >= 0; i-- )); do umount -l "${stale[$i]}" 2>/dev/null || true; done
    if awk -v r="$root" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
      die "$root still has mounts after unmounting the stale ones"
    fi
  fi
}
