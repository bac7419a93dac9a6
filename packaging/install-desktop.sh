#!/usr/bin/env bash
# Install the launcher and icons for the current user (double-click AdvLens from the desktop menu).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
icons="$here/../resources/icons"
for size in 16 32 48 64 128 256; do
  dest="$HOME/.local/share/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dest"
  cp "$icons/advlens-$size.png" "$dest/advlens.png"
done
mkdir -p "$HOME/.local/share/applications"
cp "$here/advlens.desktop" "$HOME/.local/share/applications/advlens.desktop"
echo "installed: make sure 'advlens' is on PATH (e.g. activate the project's .venv or pipx install it)"
