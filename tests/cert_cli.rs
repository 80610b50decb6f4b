//! `meter cert list [--json]` through the CLI.

use certmeter_tests::Home;

#[test]
fn cert_list_shows_the_meter_certificate() {
    let home = Home::personalized("PB-7", "10.00");
    let list = home.meter(["cert", "list", "--json"]).expect_code(0).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c["slot"], 0);
    assert_eq!(c["holder"], "PB-7");
    assert_eq!(c["status"], "valid");
    assert!(c["serial"].as_u64().unwrap() > 0);
    assert!(c["expiry"].as_u64().unwrap() > c["effective"].as_u64().unwrap());
    let uses: Vec<&str> = c["uses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(uses.contains(&"postmark"), "{uses:?}");

    let text = home.meter(["cert", "list"]).expect_code(0);
    let out = text.stdout;
    assert!(out.contains("PB-7"), "{out}");
    assert!(out.contains("valid"), "{out}");
    assert!(out.contains("1 of 4 slots used"), "{out}");
}
