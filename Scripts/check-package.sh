#!/usr/bin/env bash
# check-package.sh: the package as a user meets it. Builds it (Scripts/package.sh --check: no
# glibc symbol newer than GLIBC_2.35, no GLIBC_ABI_DT_RELR, only libc and libm), installs the
# .deb with dpkg -i on this machine, runs `sockit --version`, renders `man sockit`, sources the
# bash completion and asks `complete -p sockit`, removes the package with dpkg -r and checks that
# every file it installed is gone; then installs the tarball with its install.sh under a scratch
# prefix and uninstalls it. Run by .ci/run (it needs root for dpkg).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "check-package: needs root (dpkg -i)" >&2; exit 2; }
if dpkg -s sockit >/dev/null 2>&1; then
    echo "check-package: a sockit package is installed already; not touching it" >&2
    exit 2
fi

artifacts=$(Scripts/package.sh --check)
deb=$(grep '\.deb$' <<<"$artifacts")
tarball=$(grep '\.tar\.gz$' <<<"$artifacts")
echo "check-package: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Installed-Size\):/  \1:/p'

dpkg -i "$deb" >/dev/null
files=$(dpkg -L sockit | while read -r f; do [ ! -f "$f" ] || echo "$f"; done)
version=$(/usr/bin/sockit --version)
echo "check-package: installed /usr/bin/sockit $version; $(wc -l <<<"$files") files"
[ "$version" = "$(sed -n 's/^## \[\([^]]*\)\].*/\1/p' CHANGELOG.md | head -1)" ] ||
    { echo "check-package: --version $version is not CHANGELOG.md's top entry" >&2; exit 1; }

# The man page: a section per subcommand (SOCKIT ECHO, ...), with its help and flags, and no
# mdoc error (mandoc -T lint's "new sentence, new line" warnings come from the help text).
page=$(zcat /usr/share/man/man1/sockit.1.gz | mandoc -T ascii | col -bx)
zcat /usr/share/man/man1/sockit.1.gz | mandoc -T lint -W error >&2 || { echo "check-package: man sockit has mdoc errors" >&2; exit 1; }
if command -v man >/dev/null; then MANPAGER=cat man -l /usr/share/man/man1/sockit.1.gz >/dev/null 2>&1; fi
for command in echo send listen options who free wait pick; do
    heading="SOCKIT ${command^^}"
    grep -qx "$heading" <<<"$page" || { echo "check-package: man sockit has no section $heading" >&2; exit 1; }
    grep -qx -- "     --help" <<<"$(sed -n "/^$heading\$/,/^SOCKIT /p" <<<"$page")" ||
        grep -q -- "-h, --help" <<<"$(sed -n "/^$heading\$/,/^SOCKIT /p" <<<"$page")" ||
        { echo "check-package: man sockit's $heading has no flags" >&2; exit 1; }
done
echo "check-package: man sockit renders ($(wc -l <<<"$page") lines, a section for every subcommand)"

# Bash completion, as bash-completion would load it.
bash -c 'source /usr/share/bash-completion/completions/sockit && complete -p sockit' |
    grep -q 'sockit$' || { echo "check-package: the bash completion registers nothing for sockit" >&2; exit 1; }
echo "check-package: bash completion: $(bash -c 'source /usr/share/bash-completion/completions/sockit && complete -p sockit')"
[ -s /usr/share/zsh/vendor-completions/_sockit ] && [ -s /usr/share/fish/vendor_completions.d/sockit.fish ]

dpkg -r sockit >/dev/null
left=$(while read -r f; do [ ! -e "$f" ] || echo "$f"; done <<<"$files")
[ -z "$left" ] || { echo "check-package: dpkg -r left: $left" >&2; exit 1; }
echo "check-package: dpkg -r removed every file"

# The tarball's install.sh, under a scratch prefix.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar -C "$scratch" -xzf "$tarball"
"$scratch"/sockit-*/install.sh --prefix "$scratch/prefix"
[ "$("$scratch/prefix/bin/sockit" --version)" = "$version" ]
"$scratch"/sockit-*/install.sh --prefix "$scratch/prefix" --uninstall
[ -z "$(find "$scratch/prefix" -type f)" ] || { echo "check-package: install.sh --uninstall left files" >&2; exit 1; }
echo "check-package: the tarball installs and uninstalls under a prefix"
