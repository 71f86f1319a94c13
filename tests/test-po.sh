#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The translations' health, as TAP:
#   1. every language of po/LINGUAS: msgfmt --check passes and its statistics
#      show no fuzzy and no untranslated message;
#   2. po/POTFILES.in is sorted, lists only files that exist, and lists every
#      source file with a translatable string (po/POTFILES.skip exempts one);
#   3. the template is not stale: a template made afresh from POTFILES.in
#      with xgettext has no msgid that a language's .po lacks (a string was
#      added or changed in the sources but not translated).
#
# Usage: test-po.sh SOURCE_ROOT
# po/orrery.pot is not kept in git (ninja orrery-pot writes it): this test
# never reads it, it makes its own template in a temporary directory.

set -u

srcdir=${1:?usage: test-po.sh SOURCE_ROOT}
po="$srcdir/po"
# The directories whose files may carry user-visible strings; tests/, bench/
# and tools/ talk to developers only.
scan_dirs="cli core monitor resources ui"

for tool in msgfmt msgcmp xgettext; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool (GNU gettext tools) is not installed"
    exit 0
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-po-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0

ok () {
  n=$((n + 1))
  echo "ok $n - $1"
}

not_ok () {
  n=$((n + 1))
  failed=1
  echo "not ok $n - $1"
  sed 's/^/# /' "$tmp/why"
}

languages=$(sed -e 's/#.*//' "$po/LINGUAS" | tr -s ' \t' '\n' | sed '/^$/d')
if [ -z "$languages" ]; then
  echo "po/LINGUAS lists no language" > "$tmp/why"
  not_ok "po/LINGUAS lists at least one language"
fi

# ---------------------------------------------------------------- 1. complete
for lang in $languages; do
  if [ ! -f "$po/$lang.po" ]; then
    echo "po/LINGUAS lists $lang but po/$lang.po does not exist" > "$tmp/why"
    not_ok "$lang: po/$lang.po exists"
    continue
  fi
  # "123 translated messages, 2 fuzzy translations, 1 untranslated message."
  if ! LC_ALL=C msgfmt --check --statistics -o /dev/null "$po/$lang.po" > "$tmp/stats" 2>&1; then
    cp "$tmp/stats" "$tmp/why"
    not_ok "$lang: msgfmt --check passes"
    continue
  fi
  stats=$(tail -n 1 "$tmp/stats")
  translated=$(echo "$stats" | sed -n 's/^\([0-9][0-9]*\) translated message.*/\1/p')
  fuzzy=$(echo "$stats" | sed -n 's/.* \([0-9][0-9]*\) fuzzy translation.*/\1/p')
  untranslated=$(echo "$stats" | sed -n 's/.* \([0-9][0-9]*\) untranslated message.*/\1/p')
  : "${fuzzy:=0}" "${untranslated:=0}"
  if [ -z "$translated" ] || [ "$translated" -eq 0 ]; then
    { echo "msgfmt --statistics said: $stats"; echo "(no translated message found)"; } > "$tmp/why"
    not_ok "$lang: msgfmt --statistics shows translated messages"
  elif [ "$fuzzy" -ne 0 ] || [ "$untranslated" -ne 0 ]; then
    {
      echo "msgfmt --statistics said: $stats"
      echo "fuzzy or untranslated:"
      msgattrib --only-fuzzy --no-wrap "$po/$lang.po" 2>/dev/null | grep '^msgid ' | head -n 20
      msgattrib --untranslated --no-wrap "$po/$lang.po" 2>/dev/null | grep '^msgid ' | head -n 20
    } > "$tmp/why"
    not_ok "$lang: 0 fuzzy and 0 untranslated ($stats)"
  else
    ok "$lang: $stats"
  fi
done

# ------------------------------------------------------------- 2. POTFILES.in
potfiles="$po/POTFILES.in"
sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$potfiles" > "$tmp/listed"
if LC_ALL=C sort -c "$tmp/listed" 2> "$tmp/why"; then
  ok "POTFILES.in is sorted"
else
  echo "sort it with: LC_ALL=C sort -o po/POTFILES.in po/POTFILES.in" >> "$tmp/why"
  not_ok "POTFILES.in is sorted"
fi

: > "$tmp/why"
while IFS= read -r file; do
  [ -f "$srcdir/$file" ] || echo "POTFILES.in lists $file, which does not exist" >> "$tmp/why"
done < "$tmp/listed"
if [ -s "$tmp/why" ]; then
  not_ok "every file POTFILES.in lists exists"
else
  ok "every file POTFILES.in lists exists"
fi

# Files with a translatable string: gettext calls and their macros in C and
# Python, translatable="yes" in GtkBuilder files, a gettext-domain in
# GSettings schemas, and the desktop and metainfo templates (whose strings
# xgettext extracts without markers).
: > "$tmp/skip"
if [ -f "$po/POTFILES.skip" ]; then
  sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$po/POTFILES.skip" > "$tmp/skip"
fi
(
  cd "$srcdir" || exit 1
  # shellcheck disable=SC2086
  find $scan_dirs -type f \( -name '*.c' -o -name '*.h' -o -name '*.py' -o -name '*.ui' \
                             -o -name '*.gschema.xml' -o -name '*.desktop.in' \
                             -o -name '*.metainfo.xml.in' -o -name '*.appdata.xml.in' \) |
    LC_ALL=C sort |
    while IFS= read -r file; do
      case "$file" in
        *.desktop.in|*.metainfo.xml.in|*.appdata.xml.in)
          echo "$file" ;;
        *.gschema.xml)
          grep -q 'gettext-domain=' "$file" && echo "$file" ;;
        *.ui)
          grep -q 'translatable="yes"' "$file" && echo "$file" ;;
        *)
          grep -Eq '(^|[^A-Za-z0-9_])(_|N_|C_|NC_|Q_|ngettext|dngettext|g_dngettext|gettext|dgettext|g_dgettext|g_dpgettext2)[[:space:]]*\(' "$file" &&
            echo "$file" ;;
      esac
    done
) > "$tmp/needed"
: > "$tmp/why"
while IFS= read -r file; do
  grep -qxF "$file" "$tmp/listed" && continue
  grep -qxF "$file" "$tmp/skip" && continue
  echo "$file has translatable strings but is not in po/POTFILES.in" >> "$tmp/why"
done < "$tmp/needed"
if [ -s "$tmp/why" ]; then
  not_ok "POTFILES.in lists every file with a translatable string"
else
  ok "POTFILES.in lists every file with a translatable string ($(wc -l < "$tmp/needed") files)"
fi

# ------------------------------------------------------------ 3. not stale
# The same extraction as meson's i18n.gettext(preset: 'glib').
if (cd "$srcdir" && xgettext --package-name=orrery -D "$srcdir" -f "$potfiles" \
      -o "$tmp/orrery.pot" --from-code=UTF-8 --add-comments \
      --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
      --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
      --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
      --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
      --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
      --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
      --flag=g_markup_printf_escaped:1:c-format --flag=g_log:3:c-format \
      --flag=g_print:1:c-format --flag=g_printerr:1:c-format --flag=g_printf:1:c-format \
      --flag=g_fprintf:2:c-format --flag=g_sprintf:2:c-format --flag=g_snprintf:3:c-format) \
      > "$tmp/xgettext.log" 2>&1 && [ -s "$tmp/orrery.pot" ]; then
  ok "xgettext makes a template from POTFILES.in ($(grep -c '^msgid ' "$tmp/orrery.pot") messages)"
  for lang in $languages; do
    [ -f "$po/$lang.po" ] || continue
    # msgcmp ignores the .po's untranslated and fuzzy entries: each msgid
    # of the template needs a real translation.
    if LC_ALL=C msgcmp "$po/$lang.po" "$tmp/orrery.pot" > "$tmp/why" 2>&1; then
      ok "$lang: po/$lang.po translates every message of the current sources"
    else
      {
        echo "the sources changed since po/$lang.po was updated: run"
        echo "  ninja -C BUILDDIR orrery-pot && msgmerge -U po/$lang.po po/orrery.pot"
        echo "and translate what is new or fuzzy"
      } >> "$tmp/why"
      not_ok "$lang: po/$lang.po translates every message of the current sources"
    fi
  done
else
  cp "$tmp/xgettext.log" "$tmp/why"
  not_ok "xgettext makes a template from POTFILES.in"
fi

echo "1..$n"
exit $failed
