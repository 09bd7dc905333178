//! Temporal's visibility query language, the part SDKs and the CLI use: comparisons on system
//! and custom search attributes, `IN`, `BETWEEN`, `IS [NOT] NULL`, `STARTS_WITH`, `AND`, `OR`,
//! `NOT`, parentheses, `ORDER BY` and `GROUP BY ExecutionStatus`. A small hand-written parser.

use std::fmt;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Query {
    pub(crate) filter: Option<Expr>,
    pub(crate) order_by: Vec<(String, bool)>,
    pub(crate) group_by: Option<String>,
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(String, Op, Literal),
    In(String, Vec<Literal>, bool),
    Between(String, Literal, Literal),
    IsNull(String, bool),
    StartsWith(String, String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write!(f, "{s:?}"),
            Literal::Num(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(Op),
    LParen,
    RParen,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' | '"' | '`' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated {quote} quote")),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            if chars.get(i + 1) == Some(&quote) {
                                s.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(if quote == '`' {
                    Tok::Ident(s)
                } else {
                    Tok::Str(s)
                });
            }
            '=' => {
                out.push(Tok::Op(Op::Eq));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op(Op::Ne));
                i += 2;
            }
            '<' => {
                let (op, n) = match chars.get(i + 1) {
                    Some('=') => (Op::Le, 2),
                    Some('>') => (Op::Ne, 2),
                    _ => (Op::Lt, 1),
                };
                out.push(Tok::Op(op));
                i += n;
            }
            '>' => {
                let (op, n) = if chars.get(i + 1) == Some(&'=') {
                    (Op::Ge, 2)
                } else {
                    (Op::Gt, 1)
                };
                out.push(Tok::Op(op));
                i += n;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || chars[i] == '.'
                        || chars[i] == 'e'
                        || chars[i] == 'E')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Tok::Num(
                    text.parse().map_err(|_| format!("bad number {text:?}"))?,
                ));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let yes = self.keyword(word);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), String> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(format!("expected {word}"))
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn field(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Ident(name)) => Ok(name),
            other => Err(format!("expected a search attribute name, found {other:?}")),
        }
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            other => Err(format!("expected a value, found {other:?}")),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            return match self.next() {
                Some(Tok::RParen) => Ok(e),
                _ => Err("expected )".into()),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let field = self.field()?;
        match self.next() {
            Some(Tok::Op(op)) => Ok(Expr::Compare(field, op, self.literal()?)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("in") => {
                Ok(Expr::In(field, self.list()?, false))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("not") => {
                self.expect_keyword("in")?;
                Ok(Expr::In(field, self.list()?, true))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("between") => {
                let low = self.literal()?;
                self.expect_keyword("and")?;
                Ok(Expr::Between(field, low, self.literal()?))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("is") => {
                let negated = self.eat_keyword("not");
                self.expect_keyword("null")?;
                Ok(Expr::IsNull(field, negated))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("starts_with") => match self.literal()? {
                Literal::Str(s) => Ok(Expr::StartsWith(field, s)),
                other => Err(format!("STARTS_WITH needs a string, found {other}")),
            },
            other => Err(format!(
                "expected an operator after {field}, found {other:?}"
            )),
        }
    }

    fn list(&mut self) -> Result<Vec<Literal>, String> {
        if self.next() != Some(Tok::LParen) {
            return Err("expected ( after IN".into());
        }
        let mut values = vec![self.literal()?];
        loop {
            match self.next() {
                Some(Tok::Comma) => values.push(self.literal()?),
                Some(Tok::RParen) => return Ok(values),
                other => return Err(format!("expected , or ) in IN list, found {other:?}")),
            }
        }
    }
}

/// Parses a visibility query. An empty query matches everything.
pub(crate) fn parse(text: &str) -> Result<Query, String> {
    let mut p = Parser {
        toks: tokenize(text)?,
        pos: 0,
    };
    let mut query = Query::default();
    if p.peek().is_some() && !p.keyword("order") && !p.keyword("group") {
        query.filter = Some(p.or()?);
    }
    loop {
        if p.eat_keyword("order") {
            p.expect_keyword("by")?;
            loop {
                let field = p.field()?;
                let desc = if p.eat_keyword("desc") {
                    true
                } else {
                    p.eat_keyword("asc");
                    false
                };
                query.order_by.push((field, desc));
                if p.peek() == Some(&Tok::Comma) {
                    p.pos += 1;
                } else {
                    break;
                }
            }
        } else if p.eat_keyword("group") {
            p.expect_keyword("by")?;
            query.group_by = Some(p.field()?);
        } else {
            break;
        }
    }
    match p.peek() {
        None => Ok(query),
        Some(t) => Err(format!("unexpected {t:?} at the end of the query")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_shapes() {
        let q = parse("WorkflowType = 'Order' AND (ExecutionStatus = \"Running\" OR StartTime >= '2026-01-01T00:00:00Z') ORDER BY StartTime DESC").expect("parse");
        assert!(matches!(q.filter, Some(Expr::And(..))));
        assert_eq!(q.order_by, vec![("StartTime".to_string(), true)]);
        let q = parse("CustomIntField BETWEEN 1 AND 5 and WorkflowId in ('a', 'b') and `Custom Kw` is not null").expect("parse");
        assert!(q.filter.is_some());
        let q = parse("GROUP BY ExecutionStatus").expect("parse");
        assert_eq!(q.group_by.as_deref(), Some("ExecutionStatus"));
        assert!(parse("").expect("empty").filter.is_none());
        assert!(parse("WorkflowId = ").is_err());
        assert!(parse("WorkflowId = 'x' garbage").is_err());
        assert!(parse("WorkflowId = 'unterminated").is_err());
    }
}
