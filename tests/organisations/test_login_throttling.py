from __future__ import annotations

from django.urls import reverse


class TestLoginThrottling:
    def test_five_failures_lock_the_login_even_with_the_right_password(self, client, city):
        for _attempt in range(5):
            client.post(reverse("login"), {"username": "south_clerk", "password": "wrong"})

        response = client.post(
            reverse("login"), {"username": "south_clerk", "password": "correct-horse-battery"}
        )

        assert response.status_code == 429
        assert "登录失败次数过多" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_a_failed_login_says_so_in_chinese(self, client, city):
        response = client.post(reverse("login"), {"username": "south_clerk", "password": "wrong"})

        assert response.status_code == 200
        assert "请输入一个正确的用户名和密码。注意，两者都区分大小写。" in response.content.decode()
