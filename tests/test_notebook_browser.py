"""glmip.show in a real browser: a JupyterLab server started here, a notebook opened in headless
Chromium (Debian's chromium and chromedriver through Selenium; nothing is downloaded), the cell
``import glmip; glmip.show("samples/aorta.mha")`` run, a mouse drag on the picture, and the
picture seen to turn. Skipped, saying why, where the browser, its driver or Jupyter is missing.

Set GLMIP_BROWSER_SHOTS=DIR to keep the before/after screenshots (PNG) in DIR.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CELL = 'import glmip; glmip.show("samples/aorta.mha")'


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not installed (Debian package {package})"
    for module, package in (("selenium", "selenium"), ("jupyterlab", "jupyterlab"),
                            ("ipykernel", "ipykernel"), ("jupyter_rfb", "jupyter_rfb"),
                            ("ipywidgets", "ipywidgets")):
        try:
            __import__(module)
        except ImportError:
            return f"Python package {package} not installed (pip install glmip[notebook] " \
                   "and the test extra)"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing() is not None,
                                                   reason=str(_missing()))]


def _post(request) -> bool:
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status in (200, 201)
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path) -> None:
    cell = {"cell_type": "code", "execution_count": None, "id": "show", "metadata": {},
            "outputs": [], "source": [CELL]}
    nb = {"cells": [cell], "metadata": {"kernelspec": {"display_name": "Python 3",
                                                        "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


@pytest.fixture
def server(tmp_path):
    """A JupyterLab server on 127.0.0.1, a free port and a token, serving tmp_path (with the
    samples folder linked in); its kernels import glmip from this checkout."""
    root = tmp_path / "lab"
    root.mkdir()
    (root / "samples").symlink_to(ROOT / "samples")
    _notebook(root / "view.ipynb")
    port, token = _free_port(), "glmip-test-token"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")):
        env[name] = str(tmp_path / sub)
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.port_retries=0", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         "--LabApp.expose_app_in_browser=True",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("jupyter lab exited: " + (tmp_path / "server.log").read_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("jupyter lab did not start in 30 s")
        # a kernel session for the notebook first: JupyterLab then opens it without asking
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/sessions?token={token}", method="POST",
            data=json.dumps({"path": "view.ipynb", "name": "view.ipynb", "type": "notebook",
                             "kernel": {"name": "python3"}}).encode(),
            headers={"Content-Type": "application/json"})
        _wait(lambda: _post(request), 20, 0.3)
        yield f"http://127.0.0.1:{port}/lab/tree/view.ipynb?token={token}", tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,1000", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(what, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    return None


def _picture(img) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(img.screenshot_as_png)).convert("L"), np.int16)


_SOURCE_SIZE = """
const done = arguments[arguments.length - 1];
fetch(arguments[0].src).then(r => r.blob()).then(b => done([b.size, b.type]))
    .catch(e => done([-1, String(e)]));
"""


def _settled(driver, img, quiet: float = 1.0, timeout: float = 15.0) -> str:
    """Wait until the picture's source has not changed for ``quiet`` seconds (the still,
    lossless frame has arrived); returns it."""
    last, since = img.get_attribute("src"), time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        src = img.get_attribute("src")
        if src != last:
            last, since = src, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def test_a_drag_in_the_browser_turns_the_picture(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, tmp = server
    browser.get(url)
    # JupyterLab exposes itself as window.jupyterapp (--LabApp.expose_app_in_browser): run the
    # cell once the notebook is open and its kernel idle; a "Select Kernel" dialog (it may come
    # late) takes the default kernel, and the cell is run again if it had not started.
    state = """
        const accept = document.querySelector('.jp-Dialog .jp-mod-accept');
        if (accept) { accept.click(); return 'dialog'; }
        const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
        const prompt = document.querySelector('.jp-Cell .jp-InputPrompt');
        if (!window.jupyterapp || !status || status.dataset.status !== 'idle' || !prompt)
            return 'loading';
        return prompt.textContent.trim() === '[ ]:' ? 'not run' : 'run';
    """

    def shown():
        for img in browser.find_elements(By.CSS_SELECTOR, "img.renderview-view"):
            if browser.execute_script("return arguments[0].naturalWidth", img) > 32:
                return img
        return None

    ran_at = -1e9
    deadline = time.monotonic() + 60
    img = None
    while img is None and time.monotonic() < deadline:
        now_state = browser.execute_script(state)
        if now_state == "not run" and time.monotonic() - ran_at > 4:
            browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            ran_at = time.monotonic()
        img = shown()
        time.sleep(0.3)

    if img is None:
        errors = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")]
        browser.save_screenshot(str(tmp / "page.png"))
        pytest.fail(f"no frame arrived from the kernel; cell output: {errors} "
                    f"(page: {tmp / 'page.png'}, server log: {tmp / 'server.log'})")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", img)
    _settled(browser, img)
    before = _picture(img)
    size_still, kind_still = browser.execute_async_script(_SOURCE_SIZE, img)

    # the toolbar came with it
    assert browser.find_elements(By.XPATH, "//button[contains(., 'save')]")

    # left drag from left of centre to the right: the view turns about the screen's up axis
    chain = ActionChains(browser, duration=30)
    chain.move_to_element_with_offset(img, -80, 0).click_and_hold()
    for _ in range(8):
        chain.move_by_offset(20, 0).pause(0.05)
    chain.release().perform()
    _settled(browser, img)
    after = _picture(img)
    size_after, kind_after = browser.execute_async_script(_SOURCE_SIZE, img)

    shots = os.environ.get("GLMIP_BROWSER_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        from PIL import Image

        Image.fromarray(before.astype(np.uint8)).save(Path(shots) / "before.png")
        Image.fromarray(after.astype(np.uint8)).save(Path(shots) / "after.png")
        browser.save_screenshot(str(Path(shots) / "page.png"))
    print(f"\nstill frame sent: {size_still} bytes {kind_still}; after the drag: "
          f"{size_after} bytes {kind_after}")

    errors = [e.text for e in browser.find_elements(
        By.CSS_SELECTOR, "[data-mime-type='application/vnd.jupyter.stderr']")]
    assert not errors, "the kernel said:\n" + "\n".join(errors)[-3000:]
    assert before.shape == after.shape and before.size > 100 * 100
    for picture in (before, after):
        assert picture.std() > 10 and np.mean(picture > 60) > 0.01, "a blank picture"
    changed = np.mean(np.abs(after - before) > 24)
    assert changed > 0.03, f"the picture did not turn ({changed:.1%} of pixels changed)"
