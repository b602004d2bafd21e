#!/usr/bin/env bash
# Extract, update and compile the gettext catalogs (Russian msgids -> English).
# Run from the repository root:  bash faplink/translations/update.sh
# After running, translate any new/empty or fuzzy entries in
# faplink/translations/en/LC_MESSAGES/messages.po and run this script again
# (the last step recompiles messages.mo).
set -euo pipefail

PYBABEL=.venv/bin/pybabel
DIR=faplink/translations
POT=$DIR/messages.pot
KEYWORDS=(-k _ -k gettext -k lazy_gettext -k N_ -k ngettext:1,2)

# 1. Extract every msgid from the Python sources and Jinja templates.
"$PYBABEL" extract -F babel.cfg "${KEYWORDS[@]}" \
    --no-wrap --sort-by-file \
    --project=faplink --copyright-holder=faplink \
    -o "$POT" .

# 2. Merge into the English catalog (create it on the first run).
if [[ -f $DIR/en/LC_MESSAGES/messages.po ]]; then
    "$PYBABEL" update -i "$POT" -d "$DIR" -D messages -l en --no-wrap --ignore-obsolete
else
    "$PYBABEL" init -i "$POT" -d "$DIR" -D messages -l en --no-wrap
fi

# 3. Compile the binary catalog Flask-Babel loads.
"$PYBABEL" compile -d "$DIR" -D messages --statistics
