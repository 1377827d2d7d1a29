"""Build the image with podman and start it without a container runtime.

`podman run` can't work on machines whose sandbox refuses setrlimit, so the image's filesystem
is exported and its CMD runs the way a runtime would: in new mount and PID namespaces,
chrooted into that filesystem, as the image's USER, in its WORKDIR, with exactly its ENV.
The recipe is the one in issue 7; scripts/build-base-image.sh makes the local base image.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_ROOT

BASE_IMAGE = "localhost/newsdesk-base"
IMAGE_TAG = "newsdesk"
PODMAN = ["podman", "--cgroup-manager=cgroupfs"]


class ContainerError(RuntimeError):
    """A step of building or starting the image failed; the message carries its output."""


def run_logged(command: list[str], log: Path, timeout: float) -> None:
    """Run a long step with its output in `log`; raise with the log's tail if it fails."""
    with log.open("ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
        )
    if done.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise ContainerError(f"{command[:3]} exited {done.returncode}:\n{tail}")


def install_podman() -> bool:
    """podman and debootstrap present, installing them with apt when missing."""
    tools = ("podman", "debootstrap")
    if all(shutil.which(tool) for tool in tools):
        return True
    if not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", *tools]
    if subprocess.run(install, env=env, capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return all(shutil.which(tool) for tool in tools)


def build_image(workdir: Path, log: Path) -> str:
    """The base image (reused when present), then the Dockerfile on it; returns the image id."""
    run_logged([str(PROJECT_ROOT / "scripts" / "build-base-image.sh")], log, timeout=900)
    iidfile = workdir / "image.id"
    # --format docker keeps the HEALTHCHECK (the OCI format has no field for it).
    build = [*PODMAN, "build", "--isolation=chroot", "--network=host", "--format", "docker"]
    build += ["--build-arg", f"BASE={BASE_IMAGE}", "--iidfile", str(iidfile), "-t", IMAGE_TAG]
    run_logged([*build, "."], log, timeout=1800)
    return iidfile.read_text().strip()


@dataclass(frozen=True)
class ImageConfig:
    user: str
    workdir: str
    env: dict[str, str]
    cmd: list[str]
    healthcheck: list[str]


def inspect_image(image: str) -> ImageConfig:
    out = subprocess.run(
        [*PODMAN, "image", "inspect", "--format", "json", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = json.loads(out)[0]
    config = info["Config"]
    # podman reports a docker-format HEALTHCHECK at the top level, not under Config.
    healthcheck = (config.get("Healthcheck") or info.get("Healthcheck") or {}).get("Test") or []
    return ImageConfig(
        user=config.get("User") or "root",
        workdir=config.get("WorkingDir") or "/",
        env=dict(item.split("=", 1) for item in config.get("Env") or []),
        cmd=list(config.get("Cmd") or []),
        healthcheck=list(healthcheck),
    )


def export_filesystem(image: str, target: Path) -> None:
    """The image's merged filesystem, unpacked into `target` (owners kept: we are root)."""
    container = subprocess.run(
        [*PODMAN, "create", image], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        target.mkdir(parents=True, exist_ok=True)
        export = subprocess.Popen([*PODMAN, "export", container], stdout=subprocess.PIPE)
        untar = subprocess.run(["tar", "-x", "-C", str(target)], stdin=export.stdout)
        if export.stdout is not None:
            export.stdout.close()
        if export.wait() or untar.returncode:
            raise ContainerError(f"exporting {image} failed")
    finally:
        # --volumes: the anonymous volume made for VOLUME /var/lib/newsdesk goes too.
        subprocess.run([*PODMAN, "rm", "--force", "--volumes", container], capture_output=True)


def resolve_user(rootfs: Path, user: str) -> tuple[int, int]:
    """USER as uid and gid, looked up in the image's own /etc/passwd and /etc/group."""
    name, _, group = user.partition(":")
    passwd = [line.split(":") for line in (rootfs / "etc/passwd").read_text().splitlines()]
    groups = [line.split(":") for line in (rootfs / "etc/group").read_text().splitlines()]
    entry = next((row for row in passwd if name in (row[0], row[2])), None)
    uid = int(name) if name.isdigit() else int(entry[2]) if entry else -1
    if not group:
        gid = int(entry[3]) if entry else uid
    else:
        match = next((row for row in groups if group in (row[0], row[2])), None)
        gid = int(group) if group.isdigit() else int(match[2]) if match else -1
    if uid < 0 or gid < 0:
        raise ContainerError(f"USER {user} is not in the image's /etc/passwd or /etc/group")
    return uid, gid


def command_on_port(cmd: list[str], port: int) -> list[str]:
    """The image's CMD listening on 127.0.0.1:`port` (no network namespace: host loopback)."""
    adapted = list(cmd)
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in adapted:
            adapted[adapted.index(flag) + 1] = value
        else:
            adapted += [flag, value]
    return adapted


@dataclass
class RunningImage:
    process: subprocess.Popen[bytes]  # the `unshare` process outside the namespaces
    base_url: str
    rootfs: Path
    config: ImageConfig
    log: Path

    def server_pid(self) -> int:
        """Host pid of the CMD: the child `unshare -f` forked (PID 1 inside the namespace)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if not children:
            raise ContainerError(f"the image's CMD is not running:\n{self.log.read_text()}")
        return int(children[0])

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM to the namespace's PID 1 (uvicorn exits cleanly), SIGKILL if it hangs.

        When PID 1 of a PID namespace exits the kernel kills everything else in it.
        """
        if self.process.poll() is not None:
            return
        try:
            pid = self.server_pid()
        except (OSError, ContainerError):
            pid = None
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if self.process.poll() is None:
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout)


def start_image(rootfs: Path, config: ImageConfig, port: int, log: Path) -> RunningImage:
    """Run the image's CMD as a runtime would, on `port`; returns at once (not yet serving)."""
    uid, gid = resolve_user(rootfs, config.user)
    env = {"HOME": home_of(rootfs, uid), **config.env}
    inner = ["chroot", f"--userspec={uid}:{gid}", str(rootfs), "env", "-i", "-C", config.workdir]
    inner += [f"{key}={value}" for key, value in env.items()]
    inner += command_on_port(config.cmd, port)
    namespaces = ["unshare", "--mount", "--pid", "--fork", f"--mount-proc={rootfs / 'proc'}"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*namespaces, *inner], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return RunningImage(process, f"http://127.0.0.1:{port}", rootfs, config, log)


def home_of(rootfs: Path, uid: int) -> str:
    for line in (rootfs / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if len(fields) > 5 and fields[2] == str(uid):
            return fields[5]
    return "/"


def remove_filesystem(rootfs: Path) -> None:
    """Delete an exported filesystem, unless something is still mounted inside it."""
    mounted = [path for path in (rootfs / "proc", rootfs / "dev") if os.path.ismount(path)]
    if not mounted:
        shutil.rmtree(rootfs, ignore_errors=True)
