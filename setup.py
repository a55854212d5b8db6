"""The one build step pyproject.toml cannot declare: the compiled launcher.

``cdishim`` is installed from ``bin/cdishim`` (the POSIX sh launcher). Where
a C compiler is available, ``launcher/cdishim.c`` is compiled in its place
(the same rules, faster, and able to hand creates to the resident
injector); without one, the sh launcher stays, and both pass the same tests.
``CC``, ``CPPFLAGS``, ``CFLAGS`` and ``LDFLAGS`` are honoured (dpkg-buildflags
sets them for the .deb). A wheel that may hold the compiled launcher is
tagged for its platform.
"""

import os
import shlex
import shutil
import subprocess

from setuptools import Distribution, setup

LAUNCHER_SOURCE = os.path.join("launcher", "cdishim.c")
LAUNCHER_NAME = "cdishim"


def _build_scripts() -> type:
    """The build_scripts command that setuptools provides (importing setuptools puts its distutils in place)."""
    from distutils.command.build_scripts import build_scripts

    return build_scripts


class BuildScripts(_build_scripts()):
    """Copy the scripts, then compile the launcher over the sh one when a compiler is there."""

    def run(self) -> None:
        super().run()
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not compiler:
            self.announce("no C compiler: cdishim stays the sh launcher", level=3)
            return
        target = os.path.join(self.build_dir, LAUNCHER_NAME)
        command = [*shlex.split(compiler), "-std=c99", "-Wall", "-Wextra", "-Werror",
                   *shlex.split(os.environ.get("CPPFLAGS", "")), *shlex.split(os.environ.get("CFLAGS", "-O2")),
                   "-o", target + ".compiled", LAUNCHER_SOURCE, *shlex.split(os.environ.get("LDFLAGS", ""))]
        try:
            compiled = subprocess.run(command).returncode == 0
        except OSError as err:  # CC names a program that is not there
            self.announce(f"cannot run the C compiler ({err}): cdishim stays the sh launcher", level=3)
            return
        if not compiled:
            self.announce("the launcher did not compile: cdishim stays the sh launcher", level=3)
            return
        os.replace(target + ".compiled", target)


class PlatformDistribution(Distribution):
    """The launcher is native code: the wheel is for this platform only."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_scripts": BuildScripts}, distclass=PlatformDistribution)
