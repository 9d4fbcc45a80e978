# libnacoscrypt — the commands a newcomer needs. See README.md.
.PHONY: demo test lint

# The main job, end to end, through the `nacoscrypt` command (see scripts/demo.sh).
demo:
	bash scripts/demo.sh

# Every test of the project (installs what it needs first).
test:
	bash scripts/test-all.sh

# Formatting, lints and the no_std build.
lint:
	bash scripts/lint.sh

# ----- The C library: `make install PREFIX=/usr/local` (DESTDIR supported) -----------------
# Builds the release libnacoscrypt.so / .a and installs them with include/nacoscrypt.h and
# lib/pkgconfig/nacoscrypt.pc; then `cc app.c $(pkg-config --cflags --libs nacoscrypt)`.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CARGO ?= cargo
# Cargo's target directory (honours CARGO_TARGET_DIR and .cargo/config), and the version.
NACOSCRYPT_TARGET_DIR = $(shell $(CARGO) metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
NACOSCRYPT_VERSION = $(shell $(CARGO) pkgid -p nacoscrypt-ffi | sed 's/.*[#@]//')

.PHONY: install uninstall
install:
	$(CARGO) build --release --locked -p nacoscrypt-ffi
	install -d "$(DESTDIR)$(LIBDIR)/pkgconfig" "$(DESTDIR)$(INCLUDEDIR)"
	install -m 0755 "$(NACOSCRYPT_TARGET_DIR)/release/libnacoscrypt.so" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so"
	install -m 0644 "$(NACOSCRYPT_TARGET_DIR)/release/libnacoscrypt.a" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.a"
	install -m 0644 include/nacoscrypt.h "$(DESTDIR)$(INCLUDEDIR)/nacoscrypt.h"
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(NACOSCRYPT_VERSION)|g' \
	    ffi/nacoscrypt.pc.in > "$(DESTDIR)$(LIBDIR)/pkgconfig/nacoscrypt.pc"
	chmod 0644 "$(DESTDIR)$(LIBDIR)/pkgconfig/nacoscrypt.pc"
	@echo "installed libnacoscrypt $(NACOSCRYPT_VERSION) into $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.a" \
	      "$(DESTDIR)$(INCLUDEDIR)/nacoscrypt.h" "$(DESTDIR)$(LIBDIR)/pkgconfig/nacoscrypt.pc"
