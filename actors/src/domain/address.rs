//! A shipping address, validated once when it enters: every part bounded and printable,
//! the country an ISO 3166-1 alpha-2 code.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::msg::Msg;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

fn part(field: &'static str, value: &str, max: usize) -> DomainResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            Msg::new("error-field-printable-length")
                .arg("field", field)
                .arg("max", max),
        ));
    }
    Ok(value.to_string())
}

impl ShippingAddress {
    pub fn parse(
        name: &str,
        line1: &str,
        line2: Option<&str>,
        city: &str,
        postal_code: &str,
        country: &str,
    ) -> DomainResult<ShippingAddress> {
        let country = country.trim().to_ascii_uppercase();
        // Shape only (two letters); the list of assigned codes changes and is not ours to keep.
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(DomainError::invalid(
                "shipping_address.country",
                Msg::new("error-country-code"),
            ));
        }
        Ok(ShippingAddress {
            name: part("shipping_address.name", name, 200)?,
            line1: part("shipping_address.line1", line1, 200)?,
            line2: line2
                .map(|l| part("shipping_address.line2", l, 200))
                .transpose()?,
            city: part("shipping_address.city", city, 100)?,
            postal_code: part("shipping_address.postal_code", postal_code, 20)?,
            country,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_trimmed_and_its_country_checked() {
        let a =
            ShippingAddress::parse(" Ann ", "1 Main St", None, "Berlin", "10115", "de").unwrap();
        assert_eq!((a.name.as_str(), a.country.as_str()), ("Ann", "DE"));
        assert!(
            ShippingAddress::parse("Ann", "1 Main St", None, "Berlin", "10115", "DEU").is_err()
        );
        assert!(ShippingAddress::parse("", "1 Main St", None, "Berlin", "10115", "DE").is_err());
        assert!(ShippingAddress::parse("Ann", "1\nMain", None, "Berlin", "10115", "DE").is_err());
    }
}
