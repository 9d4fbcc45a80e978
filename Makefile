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
# Builds the release libnacoscrypt.so / .a and installs them with include/nacoscrypt.h,
# lib/pkgconfig/nacoscrypt.pc and the CMake package lib/cmake/nacoscrypt/; then
# `cc app.c $(pkg-config --cflags --libs nacoscrypt)` or, in CMake,
# `find_package(nacoscrypt 0.1 REQUIRED)` + `target_link_libraries(app PRIVATE nacoscrypt::nacoscrypt)`.
# The shared library is libnacoscrypt.so.$(VERSION) with the soname libnacoscrypt.so.$(ABI)
# (ffi/build.rs) and the links libnacoscrypt.so.$(ABI) and libnacoscrypt.so to it.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CARGO ?= cargo
# Cargo's target directory (honours CARGO_TARGET_DIR and .cargo/config), the version, the ABI.
NACOSCRYPT_TARGET_DIR = $(shell $(CARGO) metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
NACOSCRYPT_VERSION = $(shell $(CARGO) pkgid -p nacoscrypt-ffi | sed 's/.*[#@]//')
NACOSCRYPT_ABI = $(shell sed -n 's/^const ABI_VERSION: u32 = \([0-9]*\);/\1/p' ffi/build.rs)
NACOSCRYPT_POINTER_BYTES = $(shell expr $$(rustc --print cfg | sed -n 's/^target_pointer_width="\([0-9]*\)"/\1/p') / 8)
CMAKEDIR = $(LIBDIR)/cmake/nacoscrypt
SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(NACOSCRYPT_VERSION)|g' \
	    -e 's|@ABI@|$(NACOSCRYPT_ABI)|g' -e 's|@POINTER_BYTES@|$(NACOSCRYPT_POINTER_BYTES)|g'

.PHONY: install uninstall
install:
	$(CARGO) build --release --locked -p nacoscrypt-ffi
	@test -n "$(NACOSCRYPT_ABI)" || { echo "no ABI_VERSION in ffi/build.rs" >&2; exit 1; }
	install -d "$(DESTDIR)$(LIBDIR)/pkgconfig" "$(DESTDIR)$(CMAKEDIR)" "$(DESTDIR)$(INCLUDEDIR)"
	install -m 0755 "$(NACOSCRYPT_TARGET_DIR)/release/libnacoscrypt.so" \
	    "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so.$(NACOSCRYPT_VERSION)"
	ln -sfn "libnacoscrypt.so.$(NACOSCRYPT_VERSION)" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so.$(NACOSCRYPT_ABI)"
	ln -sfn "libnacoscrypt.so.$(NACOSCRYPT_ABI)" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so"
	install -m 0644 "$(NACOSCRYPT_TARGET_DIR)/release/libnacoscrypt.a" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.a"
	install -m 0644 include/nacoscrypt.h "$(DESTDIR)$(INCLUDEDIR)/nacoscrypt.h"
	$(SUBST) ffi/nacoscrypt.pc.in > "$(DESTDIR)$(LIBDIR)/pkgconfig/nacoscrypt.pc"
	$(SUBST) ffi/cmake/nacoscrypt-config.cmake.in > "$(DESTDIR)$(CMAKEDIR)/nacoscrypt-config.cmake"
	$(SUBST) ffi/cmake/nacoscrypt-config-version.cmake.in > "$(DESTDIR)$(CMAKEDIR)/nacoscrypt-config-version.cmake"
	chmod 0644 "$(DESTDIR)$(LIBDIR)/pkgconfig/nacoscrypt.pc" "$(DESTDIR)$(CMAKEDIR)"/*.cmake
	@echo "installed libnacoscrypt $(NACOSCRYPT_VERSION) (soname libnacoscrypt.so.$(NACOSCRYPT_ABI)) into $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so.$(NACOSCRYPT_ABI)" \
	      "$(DESTDIR)$(LIBDIR)/libnacoscrypt.so.$(NACOSCRYPT_VERSION)" "$(DESTDIR)$(LIBDIR)/libnacoscrypt.a" \
	      "$(DESTDIR)$(INCLUDEDIR)/nacoscrypt.h" "$(DESTDIR)$(LIBDIR)/pkgconfig/nacoscrypt.pc" \
	      "$(DESTDIR)$(CMAKEDIR)/nacoscrypt-config.cmake" "$(DESTDIR)$(CMAKEDIR)/nacoscrypt-config-version.cmake"
	-rmdir "$(DESTDIR)$(CMAKEDIR)" 2>/dev/null

# ----- The command: `make install-cli PREFIX=/usr/local` (DESTDIR supported) ---------------
# bin/nacoscrypt, its man pages (share/man/man1) and its bash, zsh and fish completions, all
# generated from the command's clap definitions. CLI_PROFILE=dev installs a debug build.
CLI_PROFILE ?= release
CLI_DIR = $(if $(filter dev,$(CLI_PROFILE)),debug,$(CLI_PROFILE))
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man

.PHONY: install-cli uninstall-cli
install-cli:
	$(CARGO) build --profile $(CLI_PROFILE) --locked -p nacoscrypt-cli
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" \
	    "$(DESTDIR)$(DATADIR)/bash-completion/completions" "$(DESTDIR)$(DATADIR)/zsh/site-functions" \
	    "$(DESTDIR)$(DATADIR)/fish/vendor_completions.d"
	install -m 0755 "$(NACOSCRYPT_TARGET_DIR)/$(CLI_DIR)/nacoscrypt" "$(DESTDIR)$(BINDIR)/nacoscrypt"
	"$(DESTDIR)$(BINDIR)/nacoscrypt" man --dir "$(DESTDIR)$(MANDIR)/man1"
	"$(DESTDIR)$(BINDIR)/nacoscrypt" completions bash > "$(DESTDIR)$(DATADIR)/bash-completion/completions/nacoscrypt"
	"$(DESTDIR)$(BINDIR)/nacoscrypt" completions zsh > "$(DESTDIR)$(DATADIR)/zsh/site-functions/_nacoscrypt"
	"$(DESTDIR)$(BINDIR)/nacoscrypt" completions fish > "$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/nacoscrypt.fish"
	@echo "installed nacoscrypt, its man pages and completions into $(DESTDIR)$(PREFIX)"

uninstall-cli:
	rm -f "$(DESTDIR)$(BINDIR)/nacoscrypt" "$(DESTDIR)$(MANDIR)"/man1/nacoscrypt.1 \
	      "$(DESTDIR)$(MANDIR)"/man1/nacoscrypt-*.1 \
	      "$(DESTDIR)$(DATADIR)/bash-completion/completions/nacoscrypt" \
	      "$(DESTDIR)$(DATADIR)/zsh/site-functions/_nacoscrypt" \
	      "$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/nacoscrypt.fish"
