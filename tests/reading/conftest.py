"""Samples for the reading tests, rendered once per session (see reading_samples.py)."""

from __future__ import annotations

import pytest
import reading_samples as rs

from bot.reading import ReadLimits


@pytest.fixture
def limits() -> ReadLimits:
    return ReadLimits()


@pytest.fixture(scope="session")
def clean_notice() -> rs.Sample:
    return rs.clean_notice_png()


@pytest.fixture(scope="session")
def chat_screenshot() -> rs.Sample:
    return rs.chat_screenshot_png()


@pytest.fixture(scope="session")
def phone_photo() -> rs.Sample:
    return rs.phone_photo_jpeg()


@pytest.fixture(scope="session")
def docx_notice() -> rs.Sample:
    return rs.notice_docx()


@pytest.fixture(scope="session")
def text_pdf() -> rs.Sample:
    return rs.notice_text_pdf()


@pytest.fixture(scope="session")
def scanned_pdf() -> rs.Sample:
    return rs.scanned_pdf()
