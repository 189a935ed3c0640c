#!/usr/bin/env bash
# WordNet 3.0 for NLTK's METEOR, offline: Debian's WordNet files laid out the way NLTK reads them.
#
#   bash launch/setup_wordnet.sh [VENV]      (make install runs it; VENV defaults to .venv)
#
# NLTK searches <sys.prefix>/nltk_data by default, so installing into the venv needs no NLTK_DATA
# variable. Without root or apt-get it warns and exits 0: the evaluation then reports METEOR as
# unavailable instead of failing. On a cluster with Internet, nltk.download("wordnet") works too.
set -euo pipefail

VENV=${1:-.venv}
TARGET="$VENV/nltk_data/corpora/wordnet"
SOURCE=/usr/share/wordnet

if [[ -f "$TARGET/lexnames" && -f "$TARGET/data.noun" ]]; then
  exit 0
fi

if [[ ! -f "$SOURCE/data.noun" ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup_wordnet: installing Debian's wordnet-base and wordnet-sense-index"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      wordnet-base wordnet-sense-index >/dev/null
  else
    echo "setup_wordnet: WARNING: no $SOURCE and no root apt-get; METEOR will be reported unavailable" >&2
    exit 0
  fi
fi

mkdir -p "$TARGET"
# Only the database files (the Debian directory also holds GUI pixmaps and the wn binaries).
find "$SOURCE" -maxdepth 1 -type f -exec cp {} "$TARGET/" \;

# NLTK also wants `lexnames` (number, lexicographer file, syntactic category), which Debian ships only
# as the lexnames(5WN) man page. The 45 names are fixed by WordNet 3.0; category: noun 1, verb 2,
# adj 3, adv 4.
LEXNAMES="adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body
noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive
noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process noun.quantity
noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change verb.cognition
verb.communication verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion
verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
number=0
for name in $LEXNAMES; do
  case ${name%%.*} in noun) pos=1 ;; verb) pos=2 ;; adj) pos=3 ;; adv) pos=4 ;; esac
  printf '%02d\t%s\t%s\n' "$number" "$name" "$pos"
  number=$((number + 1))
done >"$TARGET/lexnames.tmp"
mv "$TARGET/lexnames.tmp" "$TARGET/lexnames"
echo "setup_wordnet: WordNet for NLTK in $TARGET"
