from tests.conftest import login


def test_login_dashboard_logout(client, make_user, org):
    user = make_user("hr_planner", employee=org.head)
    csrf = login(client, user.email)
    page = client.get("/")
    assert page.status_code == 200
    assert "Organisation" in page.text
    assert "My team" in page.text
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/").status_code == 401
