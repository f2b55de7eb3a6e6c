"""A vendor's CI test: our sender against the ieb simulator (GGk + CAK) over mutual TLS."""

import datetime as dt

from vendor_sender import send_message, start_message

from ieb.testing.plugin import assert_accepted, assert_rejected

TODAY = dt.date.today()
BSN = "999900006"  # a test BSN (9999xxxxx, passes the 11-proef)


def test_start_is_accepted(ieb_simulator, ieb_retours):
    message = start_message("0363", "V-0001", BSN, 1, TODAY.replace(day=1), TODAY)
    ref = send_message(ieb_simulator.endpoint, ieb_simulator.tls, "0363", message)
    [answer] = ieb_retours.wait(1)
    assert answer.cross_refnummer == ref
    assert_accepted(answer)


def test_duplicate_eb_start_nummer_is_rejected_with_9102(ieb_simulator, ieb_retours):
    first = start_message("0363", "V-0001", BSN, 1, TODAY.replace(day=1), TODAY)
    second = start_message("0363", "V-0002", BSN, 1, TODAY.replace(day=1), TODAY)
    ref = send_message(ieb_simulator.endpoint, ieb_simulator.tls, "0363", first)
    assert_accepted(ieb_retours.answer_to(ref))
    ref = send_message(ieb_simulator.endpoint, ieb_simulator.tls, "0363", second)
    assert_rejected(ieb_retours.answer_to(ref), "9102")
