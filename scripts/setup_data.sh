#!/bin/sh
# Install the datasets the functional trainer (`asicsim train`) reads. Idempotent: skips what is
# already there. Needs root (or sudo) for apt-get.
#   Fashion-MNIST -> /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist, MIT)
set -e
if dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then
    echo "dataset-fashion-mnist already installed: $(dpkg -L dataset-fashion-mnist | grep -m1 'fashion-mnist$')"
else
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update
    $SUDO apt-get install -y dataset-fashion-mnist
fi
# MNIST has no Debian package: put its four IDX files (train-images-idx3-ubyte.gz, ...) in a
# folder and pass `--dataset mnist --data-dir FOLDER`.
