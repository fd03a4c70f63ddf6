"""Members: masking of phone numbers, store scope, duplicates and validation."""

from __future__ import annotations


async def test_clerk_sees_a_masked_phone(client, as_role):
    r = await client.get("/v1/brands/brand-a/members/m-a1", headers=as_role("clerk", store_ids=("store-a1",)))

    assert r.status_code == 200
    assert r.json()["phone"] == "138****8000"


async def test_analyst_sees_a_masked_phone(client, as_role):
    r = await client.get("/v1/brands/brand-a/members/m-a1", headers=as_role("analyst"))

    assert r.json()["phone"] == "138****8000"


async def test_brand_admin_and_store_manager_see_the_full_phone(client, as_role):
    admin = await client.get("/v1/brands/brand-a/members/m-a1", headers=as_role("brand_admin"))
    manager = await client.get("/v1/brands/brand-a/members/m-a1",
                               headers=as_role("store_manager", store_ids=("store-a1",)))

    assert admin.json()["phone"] == manager.json()["phone"] == "+8613800138000"


async def test_clerk_gets_the_same_404_for_another_stores_member_as_for_a_missing_one(client, as_role):
    clerk = as_role("clerk", store_ids=("store-a1",))

    other_store = await client.get("/v1/brands/brand-a/members/m-a2", headers=clerk)
    missing = await client.get("/v1/brands/brand-a/members/no-such-member", headers=clerk)

    assert other_store.status_code == missing.status_code == 404
    assert other_store.json() == missing.json()


async def test_register_member_returns_201_with_the_normalised_member(client, as_role):
    body = {"phone": "13600136000", "name": "Li Lei", "gender": "male", "birthday": "1990-05-17",
            "store_id": "store-a1", "attributes": {"size": "M"}, "consents": {"sms": True, "wechat": False}}

    r = await client.post("/v1/brands/brand-a/members", json=body, headers=as_role("brand_admin"))

    assert r.status_code == 201
    member = r.json()
    assert member["phone"] == "+8613600136000"
    assert member["birthday"] == "1990-05-17"
    assert member["consents"] == {"sms": True, "wechat": False}
    assert member["attributes"] == {"size": "M"}


async def test_clerk_registers_members_into_their_own_store(client, as_role, backends):
    r = await client.post("/v1/brands/brand-a/members", json={"phone": "13600136001"},
                          headers=as_role("clerk", store_ids=("store-a1",)))

    assert r.status_code == 201
    assert r.json()["store_id"] == "store-a1"


async def test_second_registration_of_a_phone_is_409_with_the_existing_member_id(client, as_role):
    r = await client.post("/v1/brands/brand-a/members", json={"phone": "138 0013 8000"},
                          headers=as_role("brand_admin"))

    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "https://crm.example/problems/duplicate-phone"
    assert problem["status"] == 409
    assert problem["member_id"] == "m-a1"


async def test_gateway_rejects_an_impossible_phone_naming_the_field(client, as_role):
    r = await client.post("/v1/brands/brand-a/members", json={"phone": "12"}, headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["phone"]


async def test_service_validation_error_is_422_naming_the_field(client, as_role):
    r = await client.post("/v1/brands/brand-a/members", json={"phone": "17000000000"},
                          headers=as_role("brand_admin"))

    assert r.status_code == 422
    problem = r.json()
    assert problem["type"] == "https://crm.example/problems/invalid-phone"
    assert problem["errors"] == [{"field": "phone", "message": "not a valid mobile number"}]


async def test_unknown_body_field_is_refused(client, as_role):
    r = await client.post("/v1/brands/brand-a/members", json={"phone": "13600136002", "nickname": "x"},
                          headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "nickname"


async def test_birthday_must_be_yyyy_mm_dd(client, as_role):
    r = await client.post("/v1/brands/brand-a/members", json={"phone": "13600136003", "birthday": "19900517"},
                          headers=as_role("brand_admin"))

    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "birthday"
