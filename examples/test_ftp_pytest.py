"""Testing FTP client code with ftpgate and pytest (see conftest.py for the fixture)."""

import ftplib
import io

import pytest


def test_upload_then_download(ftp_server):
    payload = b"id,total\n1,42\n" * 1000
    with ftplib.FTP(timeout=10) as ftp:
        ftp.connect(ftp_server["host"], ftp_server["port"])
        ftp.login(ftp_server["user"], ftp_server["password"])
        ftp.mkd("reports")
        ftp.storbinary("STOR reports/daily.csv", io.BytesIO(payload))

        downloaded = io.BytesIO()
        ftp.retrbinary("RETR reports/daily.csv", downloaded.write)
        assert downloaded.getvalue() == payload
        assert ftp.nlst("reports") == ["reports/daily.csv"]

    # The server serves a real directory: the upload is there on disk too.
    assert (ftp_server["root"] / "reports" / "daily.csv").read_bytes() == payload


def test_wrong_password_is_refused(ftp_server):
    with ftplib.FTP(timeout=10) as ftp:
        ftp.connect(ftp_server["host"], ftp_server["port"])
        with pytest.raises(ftplib.error_perm, match="^530"):
            ftp.login(ftp_server["user"], "wrong")
