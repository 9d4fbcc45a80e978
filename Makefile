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
