"""The ``ceap-templates`` command: build, validate, diff, package, plan-migration."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ceap_templates.errors import CeapError

Handler = Callable[[argparse.Namespace], int]


def _build(args: argparse.Namespace) -> int:
    from ceap_templates import configuration
    from ceap_templates.artifacts import write_builds
    from ceap_templates.environment_build import build_environment
    from ceap_templates.packaging import code_artifacts

    started = time.perf_counter()
    environments = configuration.load(args.config).select(args.env)
    code = code_artifacts(Path(args.source_root))
    builds = [build_environment(env, code) for env in environments]
    folders = write_builds(Path(args.out), builds)
    stacks = sum(len(b.stacks) for b in builds)
    elapsed = time.perf_counter() - started
    if not args.quiet:
        print(f"built {stacks} templates for {', '.join(f.name for f in folders)} in {args.out}/ ({elapsed:.2f} s)")
    return 0


def _package(args: argparse.Namespace) -> int:
    from ceap_templates.packaging import write_packages

    for key, path in write_packages(Path(args.source_root), Path(args.out)).items():
        print(f"{path}  (s3 key {key})")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from ceap_templates.validation.cache import ResultCache
    from ceap_templates.validation.engine import validate_directory
    from ceap_templates.validation.rules import all_rules

    if args.list_rules:
        for rule in all_rules():
            print(f"{rule.id}  {rule.description}  [{rule.source}]")
        return 0
    cache = None if args.no_cache else ResultCache()
    report = validate_directory(
        args.build_dir, only=args.only or (), skip=args.skip or (), documents=args.docs or (), cache=cache
    )
    for finding in report.findings:
        print(finding)
    if not args.quiet:
        # Findings alone on stdout (one per line, for CI annotations); the tally goes to stderr.
        print(
            f"validated {report.stacks} templates of {', '.join(report.environments)} with {len(report.rules)} rules: "
            f"{len(report.findings)} finding(s) ({report.seconds:.2f} s)",
            file=sys.stderr,
        )
    return 1 if report.findings else 0


def _diff(args: argparse.Namespace) -> int:
    from ceap_templates.diff.command import run

    return run(args)


def _plan_migration(args: argparse.Namespace) -> int:
    from ceap_templates.migration.plan import write_plan

    plan = write_plan(args.build, args.env, args.out)
    moved = sum(len(b.moves) for b in plan.batches)
    print(f"planned {args.env}: {len(plan.batches)} refactor batch(es), {moved} resources moved, in {args.out}/")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ceap-templates", description=__doc__)
    top.add_argument("--debug", action="store_true", help="show tracebacks of expected errors")
    sub = top.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="emit templates, manifest.json and ARCHITECTURE.md per environment")
    build.add_argument("--env", action="append", help="environment to build (repeatable; default: all)")
    build.add_argument("--out", default="build", help="output folder (default: build)")
    build.add_argument("--config", default="config/environments.yaml", help="configuration file")
    build.add_argument("--source-root", default=".", help="project root holding lambdas/ and glue/")
    build.add_argument("--quiet", action="store_true")
    build.set_defaults(handler=_build)

    validate = sub.add_parser("validate", help="run every static check on a build folder; exit 1 on findings")
    validate.add_argument(
        "build_dir", nargs="?", default="build", help="build folder, or one build/{env} (default: build)"
    )
    validate.add_argument("--only", action="append", metavar="ID", help="run only this rule (repeatable)")
    validate.add_argument("--skip", action="append", metavar="ID", help="skip this rule (repeatable)")
    validate.add_argument("--docs", action="append", metavar="PATH", help="also check these Markdown files or folders")
    validate.add_argument("--list-rules", action="store_true", help="print the rules (id, description, source)")
    validate.add_argument("--quiet", action="store_true", help="no summary line on stderr")
    validate.add_argument(
        "--no-cache",
        action="store_true",
        help="run every rule on every template (default: reuse per-template results of unchanged templates, "
        "cached under $XDG_CACHE_HOME/ceap-templates)",
    )
    validate.set_defaults(handler=_validate)

    diff = sub.add_parser("diff", help="compare two builds resource by resource, offline (consequences included)")
    diff.add_argument("builds", nargs="*", metavar="BUILD", help="OLD NEW build folders, or NEW with --base")
    diff.add_argument("--base", metavar="GIT_REF", help="build this git ref in a temporary worktree as OLD")
    diff.add_argument("--env", action="append", metavar="ENV", help="compare only this environment (repeatable)")
    diff.add_argument("--format", choices=("markdown", "json"), default="markdown", help="default: markdown")
    diff.add_argument("--fail-on", choices=("any", "replacement", "data-loss"), help="exit 1 if present")
    diff.set_defaults(handler=_diff)

    package = sub.add_parser("package", help="write the deterministic Lambda zip and Glue files")
    package.add_argument("--out", default="dist", help="output folder (default: dist)")
    package.add_argument("--source-root", default=".", help="project root holding lambdas/ and glue/")
    package.set_defaults(handler=_package)
    migrate = sub.add_parser(
        "plan-migration", help="write PLAN.md and the stack-refactor documents moving ENV from legacy to consolidated"
    )
    migrate.add_argument("--env", required=True, help="environment with a legacy layout in the build")
    migrate.add_argument("--build", default="build", help="build folder (default: build)")
    migrate.add_argument("--out", required=True, help="plan folder; must not exist or be empty")
    migrate.set_defaults(handler=_plan_migration)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; expected errors print one message per line and exit non-zero."""
    args = parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except CeapError as error:
        if args.debug:
            raise
        for line in str(error).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
