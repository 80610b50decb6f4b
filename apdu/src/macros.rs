//! [`byte_enum!`](crate::byte_enum): the one definition of the byte enums on
//! the wire (life-cycle states, registers, services, verdicts).

/// Defines an enum whose values are single bytes on the wire, with explicit
/// discriminants (`#[repr(u8)]`, so `value as u8` is the wire byte) and:
///
/// * `from_byte(u8) -> Option<Self>`: decodes a wire byte;
/// * `byte(self) -> u8`: the wire byte;
/// * `ALL`: every value, in declaration (wire) order;
/// * `TryFrom<u8>` (the unknown byte as error) and `From<Self> for u8`;
/// * optionally, a method returning a text for people per value, named
///   after the enum body (`fn name;` gives `name(self) -> &'static str`).
///
/// ```
/// apdu::byte_enum! {
///     /// A colour.
///     pub enum Colour {
///         /// Red.
///         Red = 1 => "red",
///         /// Green.
///         Green = 2 => "green",
///     }
///     /// The colour, for people.
///     fn name;
/// }
/// assert_eq!(Colour::from_byte(2), Some(Colour::Green));
/// assert_eq!(Colour::ALL, [Colour::Red, Colour::Green]);
/// assert_eq!(Colour::Red.name(), "red");
/// assert_eq!(Colour::Green as u8, 2);
/// ```
#[macro_export]
macro_rules! byte_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $byte:literal => $text:expr
            ),+ $(,)?
        }
        $(#[$mmeta:meta])*
        fn $method:ident;
    ) => {
        $crate::byte_enum! {
            $(#[$meta])*
            $vis enum $name {
                $( $(#[$vmeta])* $variant = $byte ),+
            }
        }

        impl $name {
            $(#[$mmeta])*
            pub const fn $method(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $byte:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $byte, )+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: [Self; [$($byte),+].len()] = [$(Self::$variant),+];

            /// Decodes a wire byte.
            pub const fn from_byte(b: u8) -> Option<Self> {
                match b {
                    $( $byte => Some(Self::$variant), )+
                    _ => None,
                }
            }

            /// The wire byte.
            pub const fn byte(self) -> u8 {
                self as u8
            }
        }

        impl ::core::convert::TryFrom<u8> for $name {
            type Error = u8;
            fn try_from(b: u8) -> Result<Self, u8> {
                Self::from_byte(b).ok_or(b)
            }
        }

        impl ::core::convert::From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v as u8
            }
        }
    };
}
