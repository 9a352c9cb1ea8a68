//! HTTP route matching with Spin's rules (spin-http `routes.rs`, Spin 3.x).
//!
//! A route is either exact (`/health`) or ends in a trailing wildcard
//! (`/files/...`). An exact route beats any wildcard; among wildcards the
//! longest prefix wins. A wildcard `/files/...` matches `/files`, `/files/`
//! and everything below `/files/`, but not `/filesystem`. As in Spin, an exact
//! route also matches the path with one trailing slash, and if two triggers
//! have the same route the last one wins.

use anyhow::{bail, Result};

/// One routable HTTP trigger.
#[derive(Debug, Clone)]
pub struct Route {
    pub component_id: String,
    /// The route as written in the manifest, e.g. `/files/...`.
    pub raw: String,
    kind: RouteKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RouteKind {
    /// The path, without a trailing slash (`""` for `/`).
    Exact(String),
    /// The prefix before `/...`, without a trailing slash (`""` for `/...`).
    Wildcard(String),
}

/// The result of routing a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub component_id: &'a str,
    /// The matched route as written in the manifest (`spin-matched-route`,
    /// `spin-raw-component-route`; they are equal with the base `/`).
    pub raw_route: &'a str,
    /// The route without a trailing `/...` (`spin-component-route`).
    pub component_route: &'a str,
    /// The part of the path after the wildcard prefix (`spin-path-info`),
    /// empty for exact routes.
    pub path_info: String,
}

/// The routing table of the HTTP trigger.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Builds a router from `(route, component id)` pairs in manifest order.
    pub fn build<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut table: Vec<Route> = Vec::new();
        for (raw, component_id) in routes {
            let route = Route::parse(raw, component_id)?;
            if let Some(existing) = table.iter_mut().find(|r| r.raw == route.raw) {
                tracing::warn!(
                    route = %route.raw,
                    replaced = %existing.component_id,
                    effective = %route.component_id,
                    "duplicate HTTP route: the last trigger wins"
                );
                *existing = route;
            } else {
                table.push(route);
            }
        }
        Ok(Self { routes: table })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the component for a request path, or `None` (a 404).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        let exact = self
            .routes
            .iter()
            .find(|route| matches!(&route.kind, RouteKind::Exact(p) if p == trimmed));
        if let Some(route) = exact {
            return Some(route.to_match(String::new()));
        }

        let mut best: Option<(&Route, usize)> = None;
        for route in &self.routes {
            let RouteKind::Wildcard(prefix) = &route.kind else {
                continue;
            };
            let rest = if prefix.is_empty() {
                Some(path)
            } else {
                path.strip_prefix(prefix.as_str())
                    .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            };
            if rest.is_none() {
                continue;
            }
            let len = prefix.len();
            if best.is_none_or(|(_, best_len)| len > best_len) {
                best = Some((route, len));
            }
        }
        best.map(|(route, len)| route.to_match(path[len..].to_string()))
    }
}

impl Route {
    fn parse(raw: &str, component_id: &str) -> Result<Self> {
        let absolute = if raw.starts_with('/') {
            raw.to_string()
        } else {
            format!("/{raw}")
        };
        if absolute.split('/').any(|segment| segment.starts_with(':')) {
            bail!(
                "route {raw:?} of component {component_id:?} uses a named wildcard (':name'), \
                 which the local host does not support"
            );
        }
        let kind = if let Some(prefix) = absolute.strip_suffix("/...") {
            RouteKind::Wildcard(prefix.to_string())
        } else if let Some(prefix) = absolute.strip_suffix("/*") {
            RouteKind::Wildcard(prefix.to_string())
        } else if absolute.contains("...") || absolute.contains('*') {
            bail!(
                "route {raw:?} of component {component_id:?} has a wildcard that is not at the end"
            );
        } else {
            RouteKind::Exact(absolute.strip_suffix('/').unwrap_or(&absolute).to_string())
        };
        Ok(Self {
            component_id: component_id.to_string(),
            raw: raw.to_string(),
            kind,
        })
    }

    /// Returns the route without its trailing wildcard, e.g. `/files`.
    pub fn component_route(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    pub fn is_wildcard(&self) -> bool {
        matches!(self.kind, RouteKind::Wildcard(_))
    }

    fn to_match(&self, path_info: String) -> RouteMatch<'_> {
        RouteMatch {
            component_id: &self.component_id,
            raw_route: &self.raw,
            component_route: self.component_route(),
            path_info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::build(routes.iter().copied()).unwrap()
    }

    fn component<'a>(router: &'a Router, path: &str) -> Option<&'a str> {
        router.route(path).map(|m| m.component_id)
    }

    #[test]
    fn exact_route_matches_only_its_path() {
        let r = router(&[("/foo", "foo"), ("/foo/bar", "foobar")]);
        assert_eq!(component(&r, "/foo"), Some("foo"));
        assert_eq!(component(&r, "/foo/"), Some("foo"));
        assert_eq!(component(&r, "/foo/bar"), Some("foobar"));
        assert_eq!(component(&r, "/foo/baz"), None);
        assert_eq!(component(&r, "/"), None);
    }

    #[test]
    fn wildcard_matches_prefix_itself() {
        let r = router(&[("/files/...", "files")]);
        assert_eq!(component(&r, "/files"), Some("files"));
        assert_eq!(component(&r, "/files/"), Some("files"));
        assert_eq!(component(&r, "/files/abc/def"), Some("files"));
        assert_eq!(component(&r, "/filesystem"), None);
        assert_eq!(component(&r, "/"), None);
    }

    #[test]
    fn path_info_is_rest_after_prefix() {
        let r = router(&[("/test/...", "test")]);
        assert_eq!(r.route("/test").unwrap().path_info, "");
        assert_eq!(r.route("/test/").unwrap().path_info, "/");
        assert_eq!(r.route("/test/hello").unwrap().path_info, "/hello");
        assert_eq!(r.route("/test/hello/").unwrap().path_info, "/hello/");
    }

    #[test]
    fn root_wildcard_matches_everything() {
        let r = router(&[("/...", "all")]);
        assert_eq!(component(&r, "/"), Some("all"));
        assert_eq!(component(&r, "/foo/bar"), Some("all"));
        let m = r.route("/1/2/3").unwrap();
        assert_eq!(m.path_info, "/1/2/3");
        assert_eq!(m.component_route, "");
    }

    #[test]
    fn longest_wildcard_wins() {
        let routes = [
            ("/one/...", "one"),
            ("/one/two/...", "onetwo"),
            ("/one/two/three/...", "onetwothree"),
        ];
        let forward = router(&routes);
        let mut reversed_routes = routes;
        reversed_routes.reverse();
        let reversed = router(&reversed_routes);
        for r in [&forward, &reversed] {
            assert_eq!(component(r, "/one/two/three/four"), Some("onetwothree"));
            assert_eq!(component(r, "/one/two/x"), Some("onetwo"));
            assert_eq!(component(r, "/one/x"), Some("one"));
            assert_eq!(component(r, "/one/twox"), Some("one"));
        }
    }

    #[test]
    fn exact_beats_wildcard() {
        let r = router(&[("/...", "wildcard"), ("/one", "exact"), ("/one/...", "one")]);
        assert_eq!(component(&r, "/one"), Some("exact"));
        assert_eq!(component(&r, "/one/x"), Some("one"));
        assert_eq!(component(&r, "/other"), Some("wildcard"));
    }

    #[test]
    fn duplicate_route_last_wins() {
        let r = router(&[("/foo", "first"), ("/foo", "second")]);
        assert_eq!(r.routes().len(), 1);
        assert_eq!(component(&r, "/foo"), Some("second"));
    }

    #[test]
    fn match_reports_spin_header_values() {
        let r = router(&[("/files/...", "files")]);
        let m = r.route("/files/abc").unwrap();
        assert_eq!(m.raw_route, "/files/...");
        assert_eq!(m.component_route, "/files");
        assert_eq!(m.path_info, "/abc");
    }

    #[test]
    fn unsupported_routes_are_rejected() {
        assert!(Router::build([("/users/:id", "users")]).is_err());
        assert!(Router::build([("/a/.../b", "x")]).is_err());
    }
}
