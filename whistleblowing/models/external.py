"""The competent authorities a reporter may also report to outside the institute (Directive
2019/1937, Art. 9(1)(g) and 11): listed on the channel's page, kept by administrators per
installation (whistleblowing.service.authorities).
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class ExternalAuthority(SQLModel, table=True):
    """One body that receives reports from outside the institute, in both languages."""

    __tablename__ = "external_authority"

    id: int | None = Field(default=None, primary_key=True)
    name_es: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    # What the body handles and how to report to it, in running text.
    description_es: str = Field(default="", max_length=2000)
    description_en: str = Field(default="", max_length=2000)
    url: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=60)
    email: str = Field(default="", max_length=200)
    order: int = 100
    is_active: bool = True
