//! One way for a closed set of facts to travel as text: the database column, the API's JSON and
//! the CLI all spell a value by its `as_str`, and reading an unknown spelling is an error, never a
//! default. Rows read such a column with `#[diesel(deserialize_as = String)]` (the `TryFrom`
//! below) and write it with `#[diesel(serialize_as = String)]` (the `From`), so the diesel
//! mapping is the same on SQLite and PostgreSQL and lives nowhere else.

/// Declares a `Copy` enum whose variants are stored and shown as the given strings.
///
/// ```ignore
/// text_enum! {
///     /// Doc of the type.
///     pub enum Colour ("colour") { /// Doc. Red = "red", Green = "green" }
/// }
/// ```
/// The string in parentheses names the fact in error messages.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident ($what:literal) {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored and shown spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The value spelled `raw`; an unknown spelling is an error naming the known ones.
            pub fn parse(raw: &str) -> Result<Self, String> {
                match raw {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", $what, " {:?} ({})"),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
