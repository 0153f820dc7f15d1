"""The results site: static, offline pages, checked as files and in a real headless Chromium."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def site(wrbench, published, tmp_path) -> Path:
    result = wrbench("site", str(published.parent), "-o", "site")
    assert result.exit_code == 0, result.output
    return tmp_path / "site"


def test_site_pages_are_offline_and_carry_definitions_provenance_and_plots(site):
    index, page = (site / "index.html").read_text(), (site / "toy" / "index.html").read_text()
    assert "href='toy/index.html'" in index
    for html in (index, page):
        assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", html)  # nothing loads from outside
        assert "<script src" not in html and "<link" not in html
    assert "<pre>" not in page  # no raw metadata dump
    assert "<dt>speedup &uarr;</dt><dd>expert_seconds_per_network / sample_seconds_per_network</dd>" in page
    assert "<dt>loss &darr;</dt>" in page  # the problem's lower-is-better metric is marked so
    assert "<details id='provenance'>" in page and "toy_plugin" in page
    images = re.findall(r"<img src='([^']+)'", page)
    assert images and all((site / "toy" / image).stat().st_size > 1000 for image in images)
    assert "Reproduce: <code>wrbench run" in page


def test_site_refuses_a_folder_without_boards(wrbench, tmp_path):
    (tmp_path / "empty").mkdir()
    result = wrbench("site", "empty", "-o", "site")
    assert result.exit_code == 2 and "no boards in empty" in result.output


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no Chromium/ChromeDriver on PATH "
                    "(apt-get install chromium chromium-driver; .ci/run installs them)")
def test_site_in_headless_chromium_renders_sorts_and_logs_no_errors(site, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in requirements/dev.txt")
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1600,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.get((site / "index.html").as_uri())
        driver.find_element(By.LINK_TEXT, "toy").click()
        assert driver.title.startswith("toy")
        table = driver.find_element(By.ID, "table-test")
        policies = lambda: [row.find_elements(By.TAG_NAME, "td")[1].text  # noqa: E731
                            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert sorted(policies()) == ["toy_expert (expert)", "toy_half", "toy_mean"]
        header = table.find_elements(By.TAG_NAME, "th")[1]
        header.click()
        assert policies() == sorted(policies()) and header.get_attribute("aria-sort") == "ascending"
        header.click()
        assert policies() == sorted(policies(), reverse=True) and header.get_attribute("aria-sort") == "descending"
        score = next(th for th in table.find_elements(By.TAG_NAME, "th") if th.text.startswith("exceed ratio"))
        score.click()  # numeric sort: values ascending as numbers
        column = [th.text for th in table.find_elements(By.TAG_NAME, "th")].index(score.text)
        values = [float(row.find_elements(By.TAG_NAME, "td")[column].get_attribute("data-v"))
                  for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert values == sorted(values)
        assert not driver.find_element(By.CSS_SELECTOR, "#provenance table").is_displayed()  # collapsed
        driver.find_element(By.CSS_SELECTOR, "#provenance summary").click()
        assert driver.find_element(By.CSS_SELECTOR, "#provenance table").is_displayed()
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
