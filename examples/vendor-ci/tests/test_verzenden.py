"""A vendor's CI test: our sender against the ieb simulator (GGk + CAK) over mutual TLS."""

import datetime as dt

from vendor_sender import start_bericht, verstuur

from ieb.testing.plugin import assert_afgekeurd, assert_geaccepteerd

VANDAAG = dt.date.today()
BSN = "999900006"  # a test BSN (9999xxxxx, passes the 11-proef)


def test_start_wordt_geaccepteerd(ieb_simulator, ieb_retours):
    bericht = start_bericht("0363", "V-0001", BSN, 1, VANDAAG.replace(day=1), VANDAAG)
    ref = verstuur(ieb_simulator.endpoint, ieb_simulator.tls, "0363", bericht)
    [antwoord] = ieb_retours.wait(1)
    assert antwoord.cross_refnummer == ref
    assert_geaccepteerd(antwoord)


def test_dubbel_startnummer_wordt_afgekeurd_met_9102(ieb_simulator, ieb_retours):
    eerste = start_bericht("0363", "V-0001", BSN, 1, VANDAAG.replace(day=1), VANDAAG)
    tweede = start_bericht("0363", "V-0002", BSN, 1, VANDAAG.replace(day=1), VANDAAG)
    ref = verstuur(ieb_simulator.endpoint, ieb_simulator.tls, "0363", eerste)
    assert_geaccepteerd(ieb_retours.voor(ref))
    ref = verstuur(ieb_simulator.endpoint, ieb_simulator.tls, "0363", tweede)
    assert_afgekeurd(ieb_retours.voor(ref), "9102")
