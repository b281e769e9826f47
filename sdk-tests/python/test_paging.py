"""Paging through /keys, /keys/{name}/versions and /deletedkeys via nextLink."""

from urllib.parse import urlparse

import pytest
from azure.core.rest import HttpRequest

from helpers import send_json, unique, wait_deleted

COUNT = 27  # more than one default page of 25


@pytest.fixture(scope="module")
def paged_keys(paging):
    names = [f"page-{i:02d}-{unique('k')}" for i in range(COUNT)]
    for name in names:
        paging.create_ec_key(name, curve="P-256")
    return names


@pytest.fixture(scope="module")
def versioned_key(paging):
    name = unique("manyversions")
    versions = [paging.create_ec_key(name, curve="P-256").properties.version for _ in range(COUNT)]
    return name, versions


def _pages(item_paged):
    return [list(page) for page in item_paged.by_page()]


def test_list_keys_follows_next_link(paging, paging_url, paged_keys):
    pages = _pages(paging.list_properties_of_keys())
    assert len(pages) >= 2, "more than 25 keys must span several pages"
    assert all(len(p) <= 25 for p in pages)
    names = [p.name for page in pages for p in page]
    assert len(names) == len(set(names)), "duplicate keys across pages"
    assert set(paged_keys) <= set(names)
    for page in pages:
        for item in page:
            assert item.id == f"{paging_url}/keys/{item.name}"


def test_raw_paging_contract(paging, paging_url, paged_keys):
    resp = send_json(paging, "GET", "/keys")
    assert resp.status_code == 200
    body = resp.json()
    assert 0 < len(body["value"]) <= 25
    assert body.get("nextLink"), "more than 25 keys exist, so the first page needs a nextLink"

    seen = []
    resp = send_json(paging, "GET", "/keys?maxresults=5")
    assert resp.status_code == 200
    body = resp.json()
    pages = 0
    while True:
        pages += 1
        assert len(body["value"]) <= 5
        seen.extend(item["kid"] for item in body["value"])
        link = body.get("nextLink")
        if not link:
            break
        parsed = urlparse(link)
        assert f"{parsed.scheme}://{parsed.netloc}" == paging_url, link
        assert parsed.path == "/keys"
        resp = paging.send_request(HttpRequest("GET", link))
        assert resp.status_code == 200, resp.text()
        body = resp.json()
        assert pages < 100, "paging does not terminate"
    assert pages >= COUNT // 5
    assert len(seen) == len(set(seen))
    assert {f"{paging_url}/keys/{n}" for n in paged_keys} <= set(seen)


def test_list_versions_pages(paging, paging_url, versioned_key):
    name, versions = versioned_key
    pages = _pages(paging.list_properties_of_key_versions(name))
    assert len(pages) >= 2
    listed = [p.version for page in pages for p in page]
    assert sorted(listed) == sorted(versions)
    for page in pages:
        for p in page:
            assert p.id == f"{paging_url}/keys/{name}/{p.version}"


def test_list_deleted_keys_pages(paging, paging_url):
    names = [unique("gone") for _ in range(COUNT)]
    for name in names:
        paging.create_ec_key(name, curve="P-256")
    for name in names:
        wait_deleted(paging, name)
    pages = _pages(paging.list_deleted_keys())
    assert len(pages) >= 2
    assert all(len(p) <= 25 for p in pages)
    listed = [d.name for page in pages for d in page]
    assert len(listed) == len(set(listed))
    assert set(names) <= set(listed)
    for page in pages:
        for d in page:
            assert d.recovery_id == f"{paging_url}/deletedkeys/{d.name}"
            assert d.deleted_date is not None and d.scheduled_purge_date is not None
